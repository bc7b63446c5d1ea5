"""converge_subscriber: make one subscriber's router objects match its desired version.

Called by the worker for every user job (addUser, updateUserPackage, disconnectUser, ...): the
job name is only the reason, shown in the timeline. Steps: claim the row (`syncing`), snapshot
the desired state, read the router and apply the difference, then set `synced_version` with a
compare-and-set, so a change that landed meanwhile leaves the row pending for the next run.

Failures are classified (DESIGN §1.7): a router that cannot be reached parks the row as
`pending` (never `error`) and marks the router offline; a refusal that retrying cannot heal sets
`error` with the router's own words; anything else is retried, and becomes `error` only when the
retries are exhausted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.logs import add_log_context
from mikrosync.routeros import (
    ConnectError,
    PermanentRouterError,
    SessionLimit,
    TransientRouterError,
)
from mikrosync.routers.models import Router
from mikrosync.subscribers.intent import REQUESTED
from mikrosync.subscribers.models import Subscriber, SyncEvent, SyncStatus
from mikrosync.sync import routers as router_state
from mikrosync.sync.apply import ApplyReport, apply_plan
from mikrosync.sync.deps import SyncDeps
from mikrosync.sync.desired import DesiredSubscriber, load_desired, load_router
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.sync.plan import plan_subscriber

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    REMOVED = "removed"
    SKIPPED = "skipped"
    WAITING = "waiting"


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


async def converge_subscriber(deps: SyncDeps, subscriber_id: int, attempt: Attempt) -> Outcome:
    started = time.monotonic()
    claim = await _claim(deps, subscriber_id)
    if claim is None:
        return Outcome.SKIPPED
    desired, router = claim.desired, claim.router
    if deps.known_down(router.id):
        await _park(deps, desired, attempt, started, f"router {router.name} is offline")
        return Outcome.WAITING
    try:
        report = await apply_plan(deps.client(router), plan_subscriber(desired))
    except PermanentRouterError as exc:
        await _fail(deps, desired, attempt, started, exc.message)
        raise PermanentError(exc.message) from exc
    except TransientRouterError as exc:
        return await _transient(deps, desired, router, attempt, started, exc)
    except TemporaryError as exc:
        await _retry_or_fail(deps, desired, attempt, started, exc.message)
        raise
    except Exception as exc:
        log.exception("converge of subscriber %s failed", subscriber_id)
        await _retry_or_fail(deps, desired, attempt, started, f"internal error: {exc!r}")
        raise
    return await _finish(deps, desired, router, attempt, started, report)


async def _claim(deps: SyncDeps, subscriber_id: int) -> _Claim | None:
    """Mark the row `syncing` and snapshot its desired state, or None if there is no work."""
    async with deps.sessionmaker() as session:
        subscriber = await session.get(Subscriber, subscriber_id)
        if subscriber is None or subscriber.sync_status == SyncStatus.ERROR:
            # Gone, or failed for good: only a new change or Retry makes it pending again.
            return None
        if subscriber.synced_version >= subscriber.desired_version:
            return None
        desired = await load_desired(session, subscriber, deps.vault)
        router = await load_router(session, subscriber.router_id)
        add_log_context(router_id=router.id, tenant_id=subscriber.tenant_id)
        subscriber.sync_status = SyncStatus.SYNCING
        await session.commit()
        return _Claim(desired=desired, router=router)


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


async def _set_status(
    session: AsyncSession, desired: DesiredSubscriber, status: SyncStatus, message: str | None
) -> None:
    # Only touch a row still at the version we worked on; a newer change keeps its `pending`.
    await session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == desired.subscriber_id,
            Subscriber.desired_version == desired.version,
        )
        .values(sync_status=status, sync_error_message=message)
    )


async def _finish(
    deps: SyncDeps,
    desired: DesiredSubscriber,
    router: Router,
    attempt: Attempt,
    started: float,
    report: ApplyReport,
) -> Outcome:
    async with deps.sessionmaker() as session:
        event = _event(desired, attempt, started, Outcome.SUCCEEDED, report.summary())
        event.latency_ms = await _change_latency_ms(session, desired, event)
        session.add(event)
        if router.is_online is not True:
            # Only on a change of state: a write per job would serialise jobs on the router row.
            await router_state.mark_online(session, router.id)
        if desired.remove:
            removed = await session.execute(
                delete(Subscriber).where(
                    Subscriber.id == desired.subscriber_id,
                    Subscriber.desired_version == desired.version,
                )
            )
            if removed.rowcount:  # type: ignore[attr-defined]
                await session.commit()
                deps.mark_up(router.id)
                return Outcome.REMOVED
        await _compare_and_set(session, desired)
        await session.commit()
    deps.mark_up(router.id)
    return Outcome.SUCCEEDED


async def _change_latency_ms(
    session: AsyncSession, desired: DesiredSubscriber, confirmed: SyncEvent
) -> int | None:
    """Time from the commit of the applied change (its `requested` event) to now."""
    requested = await session.scalar(
        select(SyncEvent.created_at)
        .where(
            SyncEvent.subscriber_id == desired.subscriber_id,
            SyncEvent.desired_version == desired.version,
            SyncEvent.outcome == REQUESTED,
        )
        .order_by(SyncEvent.id.desc())
        .limit(1)
    )
    if requested is None:
        return None
    return max(0, int((confirmed.created_at - requested).total_seconds() * 1000))


async def _compare_and_set(session: AsyncSession, desired: DesiredSubscriber) -> None:
    """Record `desired.version` as applied, unless a later run already recorded more."""
    recorded = await session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == desired.subscriber_id,
            Subscriber.synced_version < desired.version,
        )
        .values(
            synced_version=desired.version,
            last_synced_at=now(),
            sync_error_message=None,
            sync_status=_status_after(desired.version),
        )
    )
    if desired.package_change and recorded.rowcount:  # type: ignore[attr-defined]
        # The router has the new profile: only now does the package become the subscriber's.
        # A run that lost the compare-and-set is stale and must not swap packages either.
        await session.execute(
            update(Subscriber)
            .where(
                Subscriber.id == desired.subscriber_id,
                Subscriber.pending_package_id == desired.package_id,
            )
            .values(package_id=desired.package_id, pending_package_id=None)
        )


def _status_after(version: int) -> object:
    return case(
        (Subscriber.desired_version == version, SyncStatus.SYNCED.value),
        else_=SyncStatus.PENDING.value,
    )


async def _park(
    deps: SyncDeps, desired: DesiredSubscriber, attempt: Attempt, started: float, message: str
) -> None:
    """Leave the row pending: the router is unreachable, which is not the subscriber's error."""
    async with deps.sessionmaker() as session:
        session.add(_event(desired, attempt, started, Outcome.WAITING, message))
        await _set_status(session, desired, SyncStatus.PENDING, None)
        await session.commit()


async def _fail(
    deps: SyncDeps, desired: DesiredSubscriber, attempt: Attempt, started: float, message: str
) -> None:
    async with deps.sessionmaker() as session:
        session.add(_event(desired, attempt, started, "failed", message))
        await _set_status(session, desired, SyncStatus.ERROR, message)
        await session.commit()


async def _retry_or_fail(
    deps: SyncDeps, desired: DesiredSubscriber, attempt: Attempt, started: float, message: str
) -> None:
    if attempt.is_last:
        await _fail(
            deps, desired, attempt, started, f"gave up after {attempt.number} attempts: {message}"
        )
        return
    async with deps.sessionmaker() as session:
        session.add(_event(desired, attempt, started, "retrying", message))
        await _set_status(session, desired, SyncStatus.PENDING, None)
        await session.commit()


async def _transient(
    deps: SyncDeps,
    desired: DesiredSubscriber,
    router: Router,
    attempt: Attempt,
    started: float,
    exc: TransientRouterError,
) -> Outcome:
    """Unreachable router: park and mark it offline. Other transient faults: retry."""
    unreachable = isinstance(exc, ConnectError | SessionLimit)
    if unreachable or attempt.is_last:
        if isinstance(exc, ConnectError):
            deps.mark_down(router.id)
            async with deps.sessionmaker() as session:
                await router_state.mark_offline(session, router.id, exc.message)
                await session.commit()
        await _park(
            deps, desired, attempt, started, f"waiting for router {router.name}: {exc.message}"
        )
        return Outcome.WAITING
    await _retry_or_fail(deps, desired, attempt, started, exc.message)
    raise TemporaryError(exc.message) from exc
