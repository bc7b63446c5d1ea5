"""Recording intent (DESIGN §1.2): desired state, `desired_version + 1`, `pending`, and a
timeline row, all in the caller's one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import Conflict
from mikrosync.subscribers.models import Operation, Subscriber, SyncEvent, SyncStatus

REQUESTED = "requested"


def _pending(operation: Operation, at: datetime) -> dict[str, object]:
    """The columns an intent sets beside the desired version: one definition for the ORM
    writer (`record_intent`) and the set-based one (`record_intents`)."""
    return {
        "sync_status": SyncStatus.PENDING,
        "sync_error_message": None,
        # The caller pushes the job hint right after commit; if that push is lost, the sweeper
        # pushes again once this stamp is older than its stale window.
        "last_enqueued_at": at,
        # The start of the change-to-confirmation latency the worker reports on success.
        "requested_at": at,
        # The job pushed for this change carries the name its timeline row records.
        "requested_operation": operation.value,
    }


def record_intent(
    session: AsyncSession,
    subscriber: Subscriber,
    operation: Operation,
    *,
    actor: str | None,
    message: str | None = None,
    bump: bool = True,
) -> SyncEvent:
    """Mark the subscriber pending at a new desired version and add the timeline row.

    `bump=False` is for creation, whose first desired version is 1 already.
    """
    if bump:
        subscriber.desired_version += 1
    for column, value in _pending(operation, now()).items():
        setattr(subscriber, column, value)
    event = SyncEvent(
        tenant_id=subscriber.tenant_id,
        subscriber=subscriber,
        operation=operation,
        outcome=REQUESTED,
        desired_version=subscriber.desired_version,
        actor=actor,
        message=message,
        created_at=now(),
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class IntentRow:
    """What `record_intents` needs of one locked row: read in the same transaction."""

    id: int
    tenant_id: int
    desired_version: int
    message: str | None = None


_SUBSCRIBERS = cast(Table, Subscriber.__table__)
_EVENTS = cast(Table, SyncEvent.__table__)


async def record_intents(
    session: AsyncSession,
    rows: Sequence[IntentRow],
    operation: Operation,
    *,
    actor: str | None,
    values: Mapping[str, object],
) -> None:
    """`record_intent` for many rows at once: one UPDATE and one multi-row INSERT, no ORM
    object per row (expiry marks thousands at month end). The rows must be locked by the
    caller (`locking`), so each new desired version is the one read plus one."""
    if not rows:
        return
    at = now()
    await session.execute(
        update(_SUBSCRIBERS)
        .where(_SUBSCRIBERS.c.id.in_([row.id for row in rows]))
        .values(
            **values,
            desired_version=_SUBSCRIBERS.c.desired_version + 1,
            **_pending(operation, at),
        )
    )
    await session.execute(
        insert(_EVENTS),
        [
            {
                "tenant_id": row.tenant_id,
                "subscriber_id": row.id,
                "operation": operation.value,
                "outcome": REQUESTED,
                "desired_version": row.desired_version + 1,
                "actor": actor,
                "message": row.message,
                "created_at": at,
            }
            for row in rows
        ],
    )


def ensure_not_removing(subscriber: Subscriber) -> None:
    if subscriber.pending_removal:
        raise Conflict(
            f"subscriber {subscriber.username!r} is being removed from its router; "
            "no further changes are accepted"
        )


def job_for(subscriber: Subscriber) -> Operation:
    """The job that describes the subscriber's outstanding change (its name is only a label:
    every subscriber job runs the same converge): the operation its latest intent recorded in
    the timeline, so what the timeline says was requested is what is pushed; derived from the
    row's state for a row without one (none outstanding, or written before it was stored)."""
    if subscriber.requested_operation and needs_sync(subscriber):
        return Operation(subscriber.requested_operation)
    if subscriber.pending_removal:
        return Operation.REMOVE_USER
    if subscriber.is_suspended:
        return Operation.DISCONNECT_USER
    if subscriber.pending_package_id is not None:
        return Operation.UPDATE_USER_PACKAGE
    if subscriber.synced_version == 0:
        return Operation.ADD_USER
    return Operation.CONNECT_USER


def needs_sync(subscriber: Subscriber) -> bool:
    return subscriber.desired_version > subscriber.synced_version


def target_package_id(subscriber: Subscriber) -> int:
    """The package the router should apply now: the one asked for, else the current one."""
    return subscriber.pending_package_id or subscriber.package_id
