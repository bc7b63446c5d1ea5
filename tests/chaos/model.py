"""What every subscriber should end up as, kept from the answers to accepted writes.

One subscriber's writes come from one lane, one after another, so its last accepted write is
simply the last 2xx answer. Two things change a subscriber's desired state behind the API's
back, and the final check accounts for them: expiry (suspended once `expires_at` has passed)
and the worker promoting `pending_package_id` once the router has the profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.chaos.plan import SlotSpec


@dataclass
class Expected:
    spec: SlotSpec
    router_id: int
    id: int | None = None
    password: str | None = None
    package_id: int = 0
    """The package asked for last (the API's `pending_package_id or package_id`)."""
    suspended: bool = False
    expires_at: datetime | None = None
    static_ip: str | None = None
    remote_address: str | None = None
    deleted: bool = False
    desired_version: int = 0
    accepted: int = 0
    history: list[str] = field(default_factory=list)
    packages: list[int] = field(default_factory=list)
    """Every package asked for, in order (the last one is `package_id`)."""

    @property
    def created(self) -> bool:
        return self.id is not None

    def accept(self, op: str, body: dict[str, Any], *, password: str | None = None) -> None:
        """Take the state an accepted write answered with."""
        self.accepted += 1
        self.id = int(body["id"])
        self.package_id = int(body["pending_package_id"] or body["package_id"])
        if not self.packages or self.packages[-1] != self.package_id:
            self.packages.append(self.package_id)
        self.suspended = bool(body["is_suspended"])
        expires = body["expires_at"]
        self.expires_at = datetime.fromisoformat(expires) if expires else None
        self.static_ip = body["static_ip"]
        self.remote_address = body["remote_address"]
        self.deleted = bool(body["pending_removal"])
        self.desired_version = int(body["desired_version"])
        if password is not None:
            self.password = password
        self.history.append(f"{op}->v{self.desired_version}")

    def suspended_at(self, moment: datetime) -> bool:
        """Suspended by an operator, or by expiry once `expires_at` has passed."""
        expired = self.expires_at is not None and self.expires_at <= moment
        return self.suspended or expired


@dataclass
class Model:
    slots: dict[int, Expected] = field(default_factory=dict)

    def by_id(self) -> dict[int, Expected]:
        return {e.id: e for e in self.slots.values() if e.id is not None}

    def near_expiries(self, before: datetime) -> list[datetime]:
        """Expiry instants still ahead that fall before `before` (the run waits for them)."""
        return [
            e.expires_at
            for e in self.slots.values()
            if e.created and not e.deleted and e.expires_at is not None and e.expires_at < before
        ]
