"""The message job: what it carries (ids and names only, never an address or a secret) and
its job id, one per (subscriber, event, occasion, channel)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mikrosync.messages.models import Channel, Event

SEND_MESSAGE = "sendCustomerMessage"
SCHEDULE_REMINDERS = "scheduleCustomerReminders"


def expiry_occasion(expires_at: datetime, days: int | None = None) -> str:
    epoch = math.ceil(expires_at.timestamp())
    return f"exp-{epoch}" + (f"-{days}d" if days is not None else "")


def occasion_epoch(occasion: str) -> int | None:
    parts = occasion.split("-")
    return int(parts[1]) if len(parts) >= 2 and parts[0] == "exp" and parts[1].isdigit() else None


@dataclass(frozen=True)
class MessageJob:
    tenant_id: int
    subscriber_id: int
    event: Event
    occasion: str
    channel: Channel

    @property
    def job_id(self) -> str:
        return f"msg-{self.subscriber_id}-{self.event.value}-{self.occasion}-{self.channel.value}"

    def data(self) -> dict[str, int | str]:
        return {
            "tenant_id": self.tenant_id,
            "subscriber_id": self.subscriber_id,
            "event": self.event.value,
            "occasion": self.occasion,
            "channel": self.channel.value,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> MessageJob:
        return cls(
            tenant_id=int(data["tenant_id"]),
            subscriber_id=int(data["subscriber_id"]),
            event=Event(str(data["event"])),
            occasion=str(data["occasion"]),
            channel=Channel(str(data["channel"])),
        )
