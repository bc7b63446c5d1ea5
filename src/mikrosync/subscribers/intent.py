"""Recording intent (DESIGN §1.2): desired state, `desired_version + 1`, `pending`, and a
timeline row, all in the caller's one transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import Conflict
from mikrosync.subscribers.models import Operation, Subscriber, SyncEvent, SyncStatus

REQUESTED = "requested"


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
    subscriber.sync_status = SyncStatus.PENDING
    subscriber.sync_error_message = None
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


def ensure_not_removing(subscriber: Subscriber) -> None:
    if subscriber.pending_removal:
        raise Conflict(
            f"subscriber {subscriber.username!r} is being removed from its router; "
            "no further changes are accepted"
        )
