"""converge_subscriber: make one subscriber's router objects match its desired version.

Called by the worker for every user job (addUser, updateUserPackage, disconnectUser, ...): the
job name is only the reason, shown in the timeline. Steps: claim the row (`syncing`), snapshot
the desired state, read the router and apply the difference, then set `synced_version` with a
compare-and-set, so a change that landed meanwhile leaves the row pending for the next run.

The lease (DESIGN §1.5, "two jobs never write the same subscriber's router objects at once"):
the claim takes `sync_claim`/`sync_claimed_until` on the row with a conditional UPDATE (only if
free or expired), and every later write of the run is conditioned on that token and releases
it. BullMQ's deduplication already keeps one active job per subscriber; the lease also holds
when Redis lost its jobs (FLUSHALL, restart) and the sweeper pushed a second job while the first
still runs. A run that finds the lease held sends nothing to the router and comes back shortly
(a delayed retry of its job). The router conversation is cut off at `converge_budget_s`, so a
run never talks to the router after its lease ran out; a SIGKILLed run's lease expires after
`lease_s`, and the next job (the stalled job run again, or the sweeper's push) takes it over.

Failures are classified (DESIGN §1.7): a router that cannot be reached parks the row as
`pending` (never `error`) and marks the router offline; a refusal that retrying cannot heal sets
`error` with the router's own words; anything else is retried, and becomes `error` only when the
retries are exhausted.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.logs import add_log_context
from mikrosync.packages.models import Package
from mikrosync.routeros import (
    ConnectError,
    PermanentRouterError,
    RouterTimeout,
    SessionLimit,
    TransientRouterError,
)
from mikrosync.routers.models import Router
from mikrosync.settings import Settings
from mikrosync.subscribers.intent import REQUESTED
from mikrosync.subscribers.models import Subscriber, SyncEvent, SyncStatus
from mikrosync.sync import routers as router_state
from mikrosync.sync.apply import ApplyReport, apply_plan
from mikrosync.sync.deps import SyncDeps
from mikrosync.sync.desired import DesiredSubscriber, desired_from_rows
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.sync.plan import plan_subscriber
from mikrosync.tenants.models import Tenant

log = logging.getLogger(__name__)
T = TypeVar("T")

# The most router commands one converge sends when every step takes its longest path: the
# profile (print, add, print again after "already exists"), each login, queue or address entry
# (the same three), a removal (print and remove per kind, the foreign-login print), the kick
# (print, remove) and the check that no session is left. Each gets `router_command_timeout_s`.
CONVERGE_MAX_COMMANDS = 12
# Beyond the router budget, which is counted from the moment the lease is stamped: a command
# still in flight at the cut-off, and clock skew between workers.
LEASE_MARGIN_S = 10.0
# A run that finds the lease held polls again after this, doubling per attempt: the holder is
# usually a converge that ends within a second (one started before Redis lost its jobs).
HELD_RETRY_BASE_S = 0.5


def converge_budget_s(settings: Settings) -> float:
    """How long a converge may talk to the router; it is cut off after this (a retry follows).

    Two connects (the pool retries once on a session that died idle) and the longest command
    sequence, each command at its full timeout. Waiting for a pool session counts too.
    """
    return (
        2 * settings.router_connect_timeout_s
        + CONVERGE_MAX_COMMANDS * settings.router_command_timeout_s
    )


def lease_s(settings: Settings) -> float:
    """How long a claim holds the subscriber: the router budget plus a margin.

    Defaults: 2 x 5 s + 12 x 15 s = 190 s of router budget, 200 s of lease. It is also how long
    the subscriber of a SIGKILLed worker waits before another run takes it over.
    """
    return converge_budget_s(settings) + LEASE_MARGIN_S


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    REMOVED = "removed"
    SKIPPED = "skipped"
    WAITING = "waiting"
    # Another live run holds the lease, and this was the job's last attempt: the row is the
    # holder's to settle; if it is left pending, the sweeper pushes it again.
    BUSY = "busy"


@dataclass(frozen=True)
class Attempt:
    """The job run this converge belongs to (kept free of bullmq types)."""

    job_name: str
    job_id: str | None = None
    number: int = 1
    is_last: bool = True


@dataclass(frozen=True)
class _Claim:
    desired: DesiredSubscriber
    router: Router
    token: str
    # The commit time of the intent being applied, if the row carries it.
    requested_at: datetime | None
    # Nothing of the subscriber was confirmed on the router yet (`synced_version == 0`).
    fresh: bool
    # When the router conversation must have ended (event-loop clock): the lease was stamped
    # `converge_budget_s + LEASE_MARGIN_S` from the moment this was taken.
    deadline: float


@dataclass(frozen=True)
class _Held:
    """The lease is another run's, until `until`."""

    until: datetime


async def converge_subscriber(deps: SyncDeps, subscriber_id: int, attempt: Attempt) -> Outcome:
    started = time.monotonic()
    claim = await _claim(deps, subscriber_id)
    if claim is None:
        return Outcome.SKIPPED
    if isinstance(claim, _Held):
        return _held(subscriber_id, attempt, claim)
    return await converge_claimed(deps, claim, attempt, started)


def single_claim(
    desired: DesiredSubscriber,
    router: Router,
    token: str,
    requested_at: datetime | None,
    fresh: bool,
    deadline: float,
) -> _Claim:
    """A claim taken by the per-router unit of work (`batch.py`) for a batch of one row."""
    return _Claim(desired, router, token, requested_at, fresh, deadline)


async def converge_claimed(
    deps: SyncDeps, claim: _Claim, attempt: Attempt, started: float
) -> Outcome:
    """Apply and settle a claimed row (the lease is this run's)."""
    desired, router = claim.desired, claim.router
    if deps.known_down(router.id):
        await _park(deps, claim, attempt, started, f"router {router.name} is offline")
        return Outcome.WAITING
    try:
        try:
            async with asyncio.timeout_at(claim.deadline):
                plan = plan_subscriber(desired, fresh=claim.fresh)
                report = await apply_plan(deps.client(router), plan)
        except TimeoutError as exc:
            budget = converge_budget_s(deps.settings)
            raise RouterTimeout(
                f"converge cut off after {budget:.0f} s (its share of the lease)"
            ) from exc
    except PermanentRouterError as exc:
        await _fail(deps, claim, attempt, started, exc.message)
        raise PermanentError(exc.message) from exc
    except TransientRouterError as exc:
        return await _transient(deps, claim, attempt, started, exc)
    except TemporaryError as exc:
        await _retry_or_fail(deps, claim, attempt, started, exc.message)
        raise
    except asyncio.CancelledError:
        # Worker shutdown: hand the lease back so the next run need not wait for it to expire.
        await asyncio.shield(_release(deps, claim))
        raise
    except Exception as exc:
        log.exception("converge of subscriber %s failed", desired.subscriber_id)
        await _retry_or_fail(deps, claim, attempt, started, f"internal error: {exc!r}")
        raise
    return await _finish(deps, claim, attempt, started, report)


def _held(subscriber_id: int, attempt: Attempt, held: _Held) -> Outcome:
    """Another live run has the lease: touch neither the router nor the row; come back soon."""
    remaining = max(0.0, (held.until - now()).total_seconds())
    if attempt.is_last:
        log.info("subscriber %s: another converge holds the lease; leaving it", subscriber_id)
        return Outcome.BUSY
    delay = min(remaining + 0.05, HELD_RETRY_BASE_S * 2 ** max(attempt.number - 1, 0))
    raise TemporaryError(
        f"another converge of subscriber {subscriber_id} is running "
        f"(lease held for {remaining:.1f} s more)",
        delay=delay,
    )


async def in_session(deps: SyncDeps, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session and commit it; once more on a fresh connection if the pooled
    one turned out dead (no pre-ping on checkout, so a connection the server closed while it
    sat idle fails its first statement). Every `work` here is safe to run twice."""
    for tries_left in (1, 0):
        try:
            async with deps.sessionmaker() as session:
                result = await work(session)
                await session.commit()
                return result
        except DBAPIError as exc:
            if not (exc.connection_invalidated and tries_left):
                raise
            log.warning("database connection was dead; running the statement again")
    raise AssertionError("unreachable")


async def _claim(deps: SyncDeps, subscriber_id: int) -> _Claim | _Held | None:
    """Take the lease, mark the row `syncing` and snapshot its desired state in ONE transaction.

    Two statements: the conditional UPDATE that takes the lease (only if the row has work and
    no live lease), then one joined SELECT of the subscriber, its target package, the tenant's
    suspension profile and the router. None if there is no work, `_Held` if another run has it.
    """
    token = uuid.uuid4().hex
    return await in_session(deps, lambda session: _claim_in(session, deps, subscriber_id, token))


async def _claim_in(
    session: AsyncSession, deps: SyncDeps, subscriber_id: int, token: str
) -> _Claim | _Held | None:
    taken_at = now()
    deadline = asyncio.get_running_loop().time() + converge_budget_s(deps.settings)
    has_work = (
        Subscriber.id == subscriber_id,
        # Error rows wait for a new change or Retry to make them pending again.
        Subscriber.sync_status != SyncStatus.ERROR,
        Subscriber.synced_version < Subscriber.desired_version,
    )
    taken = await session.execute(
        update(Subscriber)
        .where(
            *has_work,
            or_(
                Subscriber.sync_claim.is_(None),
                Subscriber.sync_claimed_until <= taken_at,
                Subscriber.sync_claim == token,  # this very claim, run again after a dead link
            ),
        )
        .values(
            sync_status=SyncStatus.SYNCING,
            sync_claim=token,
            sync_claimed_until=taken_at + timedelta(seconds=lease_s(deps.settings)),
        )
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        until = await session.scalar(select(Subscriber.sync_claimed_until).where(*has_work))
        return _Held(until) if until is not None and until > taken_at else None
    row = (
        await session.execute(
            select(Subscriber, Package, Tenant.suspension_profile, Router)
            .join(
                Package,
                Package.id == func.coalesce(Subscriber.pending_package_id, Subscriber.package_id),
            )
            .join(Tenant, Tenant.id == Subscriber.tenant_id)
            .join(Router, Router.id == Subscriber.router_id)
            .where(Subscriber.id == subscriber_id)
        )
    ).one()
    subscriber, package, suspension_profile, router = row
    add_log_context(router_id=router.id, tenant_id=subscriber.tenant_id)
    desired = desired_from_rows(subscriber, package, suspension_profile, deps.vault)
    fresh = subscriber.synced_version == 0
    return _Claim(desired, router, token, subscriber.requested_at, fresh, deadline)


def _event(
    desired: DesiredSubscriber, attempt: Attempt, started: float, outcome: str, message: str
) -> SyncEvent:
    return SyncEvent(
        tenant_id=desired.tenant_id,
        subscriber_id=desired.subscriber_id,
        operation=attempt.job_name,
        outcome=outcome,
        desired_version=desired.version,
        job_id=attempt.job_id,
        attempt=attempt.number,
        message=message,
        duration_ms=int((time.monotonic() - started) * 1000),
        created_at=now(),
    )


def _released() -> dict[str, object]:
    return {"sync_claim": None, "sync_claimed_until": None}


async def _set_status(
    session: AsyncSession, claim: _Claim, status: SyncStatus, message: str | None
) -> None:
    """Release the lease; set the status only if the row is still at the version we worked on
    (a newer change keeps its `pending`). A run whose lease was taken over writes nothing."""
    same_version = Subscriber.desired_version == claim.desired.version
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id == claim.desired.subscriber_id, Subscriber.sync_claim == claim.token)
        .values(
            sync_status=case((same_version, status.value), else_=Subscriber.sync_status),
            sync_error_message=case((same_version, message), else_=Subscriber.sync_error_message),
            **_released(),
        )
        .execution_options(synchronize_session=False)
    )


async def _release(deps: SyncDeps, claim: _Claim) -> None:
    """Hand the lease back without any other change (the run was cancelled)."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(Subscriber)
            .where(
                Subscriber.id == claim.desired.subscriber_id, Subscriber.sync_claim == claim.token
            )
            .values(
                sync_status=case(
                    (Subscriber.sync_status == SyncStatus.SYNCING, SyncStatus.PENDING.value),
                    else_=Subscriber.sync_status,
                ),
                **_released(),
            )
            .execution_options(synchronize_session=False)
        )

    await in_session(deps, work)


async def _finish(
    deps: SyncDeps, claim: _Claim, attempt: Attempt, started: float, report: ApplyReport
) -> Outcome:
    desired, router = claim.desired, claim.router

    async def work(session: AsyncSession) -> Outcome:
        event = _event(desired, attempt, started, Outcome.SUCCEEDED, report.summary())
        event.latency_ms = await _change_latency_ms(session, claim, event)
        session.add(event)
        if router.is_online is not True:
            # Only on a change of state: a write per job would serialise jobs on the router row.
            await router_state.mark_online(session, router.id)
        if desired.remove:
            removed = await session.execute(
                delete(Subscriber)
                .where(
                    Subscriber.id == desired.subscriber_id,
                    Subscriber.desired_version == desired.version,
                    Subscriber.sync_claim == claim.token,
                )
                .execution_options(synchronize_session=False)
            )
            if removed.rowcount:  # type: ignore[attr-defined]
                return Outcome.REMOVED
        await _compare_and_set(session, claim)
        return Outcome.SUCCEEDED

    outcome = await in_session(deps, work)
    deps.mark_up(router.id)
    return outcome


async def _change_latency_ms(
    session: AsyncSession, claim: _Claim, confirmed: SyncEvent
) -> int | None:
    """Time from the commit of the applied change to now: from the row's `requested_at`, or,
    for a row that does not carry it, from the change's `requested` timeline event."""
    requested = claim.requested_at
    if requested is None:
        requested = await session.scalar(
            select(SyncEvent.created_at)
            .where(
                SyncEvent.subscriber_id == claim.desired.subscriber_id,
                SyncEvent.desired_version == claim.desired.version,
                SyncEvent.outcome == REQUESTED,
            )
            .order_by(SyncEvent.id.desc())
            .limit(1)
        )
    if requested is None:
        return None
    return max(0, int((confirmed.created_at - requested).total_seconds() * 1000))


async def _compare_and_set(session: AsyncSession, claim: _Claim) -> None:
    """Record `desired.version` as applied and release the lease (if it is still ours)."""
    desired = claim.desired
    current = Subscriber.desired_version == desired.version
    recorded = await session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == desired.subscriber_id,
            Subscriber.sync_claim == claim.token,
            # Always true under the lease (only its holder moves `synced_version`); kept as
            # the compare-and-set's own guard.
            Subscriber.synced_version < desired.version,
        )
        .values(
            synced_version=desired.version,
            last_synced_at=now(),
            sync_error_message=None,
            sync_status=case((current, SyncStatus.SYNCED.value), else_=SyncStatus.PENDING.value),
            # Synced: no intent is waiting any more. A newer change keeps its own time.
            requested_at=case((current, None), else_=Subscriber.requested_at),
            **_released(),
        )
        .execution_options(synchronize_session=False)
    )
    if not recorded.rowcount:  # type: ignore[attr-defined]
        # Lost the lease (nothing to release), or nothing to record: release it if ours.
        await _set_status(session, claim, SyncStatus.SYNCED, None)
        return
    if desired.package_change:
        # The router has the new profile: only now does the package become the subscriber's.
        # A run that lost the compare-and-set is stale and must not swap packages either.
        await session.execute(
            update(Subscriber)
            .where(
                Subscriber.id == desired.subscriber_id,
                Subscriber.pending_package_id == desired.package_id,
            )
            .values(package_id=desired.package_id, pending_package_id=None)
            .execution_options(synchronize_session=False)
        )


async def _settle(
    deps: SyncDeps,
    claim: _Claim,
    attempt: Attempt,
    started: float,
    outcome: str,
    message: str,
    status: SyncStatus,
    status_message: str | None,
) -> None:
    async def work(session: AsyncSession) -> None:
        session.add(_event(claim.desired, attempt, started, outcome, message))
        await _set_status(session, claim, status, status_message)

    await in_session(deps, work)


async def _park(
    deps: SyncDeps, claim: _Claim, attempt: Attempt, started: float, message: str
) -> None:
    """Leave the row pending: the router is unreachable, which is not the subscriber's error."""
    await _settle(deps, claim, attempt, started, Outcome.WAITING, message, SyncStatus.PENDING, None)


async def _fail(
    deps: SyncDeps, claim: _Claim, attempt: Attempt, started: float, message: str
) -> None:
    await _settle(deps, claim, attempt, started, "failed", message, SyncStatus.ERROR, message)


async def _retry_or_fail(
    deps: SyncDeps, claim: _Claim, attempt: Attempt, started: float, message: str
) -> None:
    if attempt.is_last:
        await _fail(
            deps, claim, attempt, started, f"gave up after {attempt.number} attempts: {message}"
        )
        return
    await _settle(deps, claim, attempt, started, "retrying", message, SyncStatus.PENDING, None)


async def _transient(
    deps: SyncDeps,
    claim: _Claim,
    attempt: Attempt,
    started: float,
    exc: TransientRouterError,
) -> Outcome:
    """Unreachable router: park and mark it offline. Other transient faults: retry."""
    router = claim.router
    unreachable = isinstance(exc, ConnectError | SessionLimit)
    if unreachable or attempt.is_last:
        if isinstance(exc, ConnectError):
            deps.mark_down(router.id)

            async def offline(session: AsyncSession) -> None:
                await router_state.mark_offline(session, router.id, exc.message)

            await in_session(deps, offline)
        await _park(
            deps, claim, attempt, started, f"waiting for router {router.name}: {exc.message}"
        )
        return Outcome.WAITING
    await _retry_or_fail(deps, claim, attempt, started, exc.message)
    raise TemporaryError(exc.message) from exc
