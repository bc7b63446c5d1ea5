"""The sync state machine, set-based: claim many rows, settle many rows, in few statements.

A subscriber row moves `pending` → `syncing` (claimed: `sync_claim` token + `sync_claimed_until`,
the lease of DESIGN §1.5) → `synced` (compare-and-set of `synced_version` to the version the
router got; a newer change keeps it `pending`), `pending` again (router unreachable, or a retry
is due), or `error` (the router's refusal, in `sync_error_message`). Every write after the claim
is conditioned on the token, so a run whose lease was taken over writes nothing, and each one
releases the lease. Each outcome adds a timeline row.

The per-router unit of work (`batch.py`) uses these with Core statements and executemany, one
statement per kind of change for the whole batch, instead of ORM objects per row. Rows that
adoption creates from logins already on the router are settled here too (`settle_adopted`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.packages.models import Package
from mikrosync.subscribers.models import Operation, Subscriber, SyncEvent, SyncStatus
from mikrosync.sync import counting
from mikrosync.tenants.models import Tenant

SUBSCRIBERS = cast(Table, Subscriber.__table__)
EVENTS = cast(Table, SyncEvent.__table__)


class RowOutcome(StrEnum):
    """The timeline outcome a run records for a row."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRYING = "retrying"
    WAITING = "waiting"


def operation_for(
    *,
    pending_removal: bool,
    is_suspended: bool,
    pending_package: bool,
    synced_version: int,
    requested: str | None = None,
) -> str:
    """The seed job that describes a row's outstanding change (the timeline's name for it):
    the operation its latest intent recorded, else derived from the row's state."""
    if requested:
        return requested
    if pending_removal:
        return Operation.REMOVE_USER.value
    if is_suspended:
        return Operation.DISCONNECT_USER.value
    if pending_package:
        return Operation.UPDATE_USER_PACKAGE.value
    if synced_version == 0:
        return Operation.ADD_USER.value
    return Operation.CONNECT_USER.value


def _has_work() -> tuple[ColumnElement[bool], ...]:
    return (
        # Error rows wait for a new change or Retry to make them pending again.
        Subscriber.sync_status != SyncStatus.ERROR,
        Subscriber.synced_version < Subscriber.desired_version,
    )


def _lease_free(taken_at: datetime) -> ColumnElement[bool]:
    return or_(Subscriber.sync_claim.is_(None), Subscriber.sync_claimed_until <= taken_at)


async def claim_router_rows(
    session: AsyncSession,
    *,
    router_id: int,
    token: str,
    limit: int,
    lease_s: float,
    first: int | None = None,
) -> None:
    """Take the lease of up to `limit` rows of one router that have work and no live lease.

    One UPDATE over a bounded subquery; suspensions and removals go first (owed disconnects
    are free service), then `first` (the row whose job runs this), then the oldest rows. On
    PostgreSQL the subquery skips rows another claim is taking at the same moment.
    """
    taken_at = now()
    order: list[ColumnElement[Any]] = [
        Subscriber.is_suspended.desc(),
        Subscriber.pending_removal.desc(),
    ]
    if first is not None:
        order.append(case((Subscriber.id == first, 0), else_=1))
    order.append(Subscriber.id.asc())
    candidates = (
        select(Subscriber.id)
        .where(Subscriber.router_id == router_id, *_has_work(), _lease_free(taken_at))
        .order_by(*order)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    await session.execute(
        update(SUBSCRIBERS)
        .where(
            SUBSCRIBERS.c.id.in_(candidates.scalar_subquery()),
            *_has_work(),
            _lease_free(taken_at),
        )
        .values(
            sync_status=SyncStatus.SYNCING.value,
            sync_claim=token,
            sync_claimed_until=taken_at + timedelta(seconds=lease_s),
        )
    )


@dataclass(frozen=True)
class ClaimedRow:
    """What a run needs of one claimed row (plain columns, no ORM object)."""

    id: int
    tenant_id: int
    router_id: int
    desired_version: int
    synced_version: int
    service: str
    username: str
    password_encrypted: str | None
    remote_address: str | None
    static_ip: str | None
    is_suspended: bool
    pending_removal: bool
    pending_package_id: int | None
    requested_at: datetime | None
    requested_operation: str | None
    package_id: int
    profile_name: str
    rate_limit: str
    suspension_profile: str | None

    @property
    def operation(self) -> str:
        return operation_for(
            pending_removal=self.pending_removal,
            is_suspended=self.is_suspended,
            pending_package=self.pending_package_id is not None,
            synced_version=self.synced_version,
            requested=self.requested_operation,
        )


async def claimed_rows(session: AsyncSession, token: str) -> list[ClaimedRow]:
    """The rows this claim holds, with their target package and the tenant's suspension
    profile: one joined SELECT."""
    s = Subscriber
    query = (
        select(
            s.id,
            s.tenant_id,
            s.router_id,
            s.desired_version,
            s.synced_version,
            s.service,
            s.username,
            s.password_encrypted,
            s.remote_address,
            s.static_ip,
            s.is_suspended,
            s.pending_removal,
            s.pending_package_id,
            s.requested_at,
            s.requested_operation,
            Package.id,
            Package.profile_name,
            Package.rate_limit,
            Tenant.suspension_profile,
        )
        .join(Package, Package.id == func.coalesce(s.pending_package_id, s.package_id))
        .join(Tenant, Tenant.id == s.tenant_id)
        .where(s.sync_claim == token)
        .order_by(s.is_suspended.desc(), s.pending_removal.desc(), s.id)
    )
    make = cast(Any, ClaimedRow)
    return [make(*row) for row in (await session.execute(query)).all()]


@dataclass(frozen=True)
class Settlement:
    """One row's outcome, as the run records it."""

    row: ClaimedRow
    outcome: RowOutcome
    message: str
    operation: str
    job_id: str | None
    attempt: int | None
    duration_ms: int


def _event(settlement: Settlement, at: datetime) -> dict[str, object]:
    row = settlement.row
    latency: int | None = None
    if settlement.outcome == RowOutcome.SUCCEEDED and row.requested_at is not None:
        latency = max(0, int((at - row.requested_at).total_seconds() * 1000))
    return {
        "tenant_id": row.tenant_id,
        "subscriber_id": row.id,
        "operation": settlement.operation,
        "outcome": settlement.outcome.value,
        "desired_version": row.desired_version,
        "job_id": settlement.job_id,
        "attempt": settlement.attempt,
        "message": settlement.message,
        "duration_ms": settlement.duration_ms,
        "latency_ms": latency,
        "actor": None,
        "created_at": at,
    }


_SID: BindParameter[int] = bindparam("sid")
_VERSION: BindParameter[int] = bindparam("version")


async def settle(session: AsyncSession, token: str, settlements: Sequence[Settlement]) -> None:
    """Record every row's outcome and release the lease: timeline rows, removals, package
    swaps, compare-and-set, statuses — one executemany statement each."""
    if not settlements:
        return
    at = now()
    events = [_event(s, at) for s in settlements]
    await session.execute(insert(EVENTS), events)
    # Counted for /metrics once this transaction commits (counting.flush in in_session).
    increments = []
    for event in events:
        increments += counting.outcome(str(event["operation"]), str(event["outcome"]))
        if isinstance(event["latency_ms"], int):
            increments += counting.latency(event["latency_ms"])
    counting.note(session, increments)
    succeeded = [s.row for s in settlements if s.outcome == RowOutcome.SUCCEEDED]
    removed = [{"sid": r.id, "version": r.desired_version} for r in succeeded if r.pending_removal]
    if removed:
        await session.execute(
            delete(SUBSCRIBERS).where(
                SUBSCRIBERS.c.id == _SID,
                SUBSCRIBERS.c.desired_version == _VERSION,
                SUBSCRIBERS.c.sync_claim == token,
            ),
            removed,
        )
    swaps = [
        {"sid": r.id, "version": r.desired_version, "package": r.package_id}
        for r in succeeded
        if r.pending_package_id is not None
    ]
    if swaps:
        # The router has the new profile: only now does the package become the subscriber's,
        # and only if this run's compare-and-set below will record it (same conditions).
        await session.execute(
            update(SUBSCRIBERS)
            .where(
                SUBSCRIBERS.c.id == _SID,
                SUBSCRIBERS.c.sync_claim == token,
                SUBSCRIBERS.c.synced_version < _VERSION,
                SUBSCRIBERS.c.pending_package_id == bindparam("package"),
            )
            .values(package_id=bindparam("package"), pending_package_id=None),
            swaps,
        )
    if succeeded:
        await _compare_and_set(session, token, succeeded, at)
    others = [s for s in settlements if s.outcome != RowOutcome.SUCCEEDED]
    if others:
        await _set_statuses(session, token, others)


async def _compare_and_set(
    session: AsyncSession, token: str, rows: Sequence[ClaimedRow], at: datetime
) -> None:
    c = SUBSCRIBERS.c
    current = c.desired_version == _VERSION
    await session.execute(
        update(SUBSCRIBERS)
        .where(c.id == _SID, c.sync_claim == token)
        .values(
            synced_version=case((c.synced_version < _VERSION, _VERSION), else_=c.synced_version),
            last_synced_at=at,
            sync_error_message=None,
            sync_status=case((current, SyncStatus.SYNCED.value), else_=SyncStatus.PENDING.value),
            # Synced: no intent is waiting any more. A newer change keeps its own time.
            requested_at=case((current, None), else_=c.requested_at),
            requested_operation=case((current, None), else_=c.requested_operation),
            sync_claim=None,
            sync_claimed_until=None,
        ),
        [{"sid": row.id, "version": row.desired_version} for row in rows],
    )


_STATUS_OF = {
    RowOutcome.FAILED: SyncStatus.ERROR,
    RowOutcome.RETRYING: SyncStatus.PENDING,
    RowOutcome.WAITING: SyncStatus.PENDING,
}


async def _set_statuses(
    session: AsyncSession, token: str, settlements: Sequence[Settlement]
) -> None:
    """Release the lease; the status (and error text) only if the row is still at the version
    worked on: a newer change keeps its `pending`."""
    c = SUBSCRIBERS.c
    same_version = c.desired_version == _VERSION
    await session.execute(
        update(SUBSCRIBERS)
        .where(c.id == _SID, c.sync_claim == token)
        .values(
            sync_status=case((same_version, bindparam("status")), else_=c.sync_status),
            sync_error_message=case((same_version, bindparam("error")), else_=c.sync_error_message),
            sync_claim=None,
            sync_claimed_until=None,
        ),
        [
            {
                "sid": s.row.id,
                "version": s.row.desired_version,
                "status": _STATUS_OF[s.outcome].value,
                "error": s.message if s.outcome == RowOutcome.FAILED else None,
            }
            for s in settlements
        ],
    )


async def release(session: AsyncSession, token: str) -> None:
    """Hand back every lease of a claim without any other change (the run was cancelled)."""
    c = SUBSCRIBERS.c
    await session.execute(
        update(SUBSCRIBERS)
        .where(c.sync_claim == token)
        .values(
            sync_status=case(
                (c.sync_status == SyncStatus.SYNCING.value, SyncStatus.PENDING.value),
                else_=c.sync_status,
            ),
            sync_claim=None,
            sync_claimed_until=None,
        )
    )


async def claim_subscriber(
    session: AsyncSession, *, subscriber_id: int, token: str, lease_s: float
) -> datetime | None:
    """Take the lease of one row if it has work and no live lease (one conditional UPDATE).

    Returns until when another run holds it, if it does; None otherwise (taken, or no work:
    `claimed_rows` tells which).
    """
    taken_at = now()
    c = SUBSCRIBERS.c
    has_work = (c.id == subscriber_id, *_has_work())
    taken = await session.execute(
        update(SUBSCRIBERS)
        .where(
            *has_work,
            # Or this very claim, run again after a dead database connection.
            or_(_lease_free(taken_at), c.sync_claim == token),
        )
        .values(
            sync_status=SyncStatus.SYNCING.value,
            sync_claim=token,
            sync_claimed_until=taken_at + timedelta(seconds=lease_s),
        )
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return None
    until: datetime | None = await session.scalar(select(c.sync_claimed_until).where(*has_work))
    return until if until is not None and until > taken_at else None


async def settle_adopted(
    session: AsyncSession, rows: Sequence[tuple[int, int]], *, actor: str, message: str
) -> None:
    """Rows that adoption (`onboarding/adopt.py`) created from logins already on the router and
    has just tagged: `synced` at their first version, each with an `addUser succeeded` timeline
    row. A row changed since its creation (version above 1) is left `pending`: that change is
    still owed to the router. `rows` are (subscriber id, tenant id)."""
    if not rows:
        return
    at = now()
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id.in_([subscriber_id for subscriber_id, _ in rows]))
        .where(Subscriber.desired_version == 1)
        .values(
            synced_version=1,
            sync_status=SyncStatus.SYNCED,
            sync_error_message=None,
            last_synced_at=at,
        )
    )
    session.add_all(
        SyncEvent(
            tenant_id=tenant_id,
            subscriber_id=subscriber_id,
            operation=Operation.ADD_USER,
            outcome="succeeded",
            desired_version=1,
            actor=actor,
            message=message,
            created_at=at,
        )
        for subscriber_id, tenant_id in rows
    )
