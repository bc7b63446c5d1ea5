"""converge_subscriber: make one subscriber's router objects match its desired version.

Called by the worker for every user job (addUser, updateUserPackage, disconnectUser, ...): the
job name is only the reason, shown in the timeline. Steps: claim the row (`syncing`), snapshot
the desired state, read the router and apply the difference, then set `synced_version` with a
compare-and-set, so a change that landed meanwhile leaves the row pending for the next run.
Every write of the row goes through `state.py`, the one owner of the sync state machine (the
per-router unit of work of `batch.py` uses the same statements for many rows at once).

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
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.db.session import database_unavailable
from mikrosync.logs import add_log_context
from mikrosync.routeros import (
    ConnectError,
    PermanentRouterError,
    RouterTimeout,
    SessionLimit,
    TransientRouterError,
)
from mikrosync.routers.models import Router
from mikrosync.settings import Settings
from mikrosync.sync import counting, router_state, state
from mikrosync.sync.apply import ApplyReport, apply_plan
from mikrosync.sync.context import SyncContext
from mikrosync.sync.desired import DesiredSubscriber, desired_from_claimed
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.sync.plan import plan_subscriber

log = logging.getLogger(__name__)
T = TypeVar("T")
# While the database is unreachable, a statement of a converge is run again for this long,
# pausing DB_RETRY_FIRST_S, doubling up to DB_RETRY_MAX_PAUSE_S (docs/deployment.md).
DB_RETRY_S = 15.0
DB_RETRY_FIRST_S = 0.2
DB_RETRY_MAX_PAUSE_S = 2.0

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
class Claim:
    """A row this run holds the lease of, with what it needs to converge it."""

    row: state.ClaimedRow
    desired: DesiredSubscriber
    router: Router
    token: str
    # When the router conversation must have ended (event-loop clock): the lease was stamped
    # `converge_budget_s + LEASE_MARGIN_S` from the moment this was taken.
    deadline: float

    @property
    def fresh(self) -> bool:
        """Nothing of the subscriber was confirmed on the router yet (`synced_version == 0`)."""
        return self.row.synced_version == 0


@dataclass(frozen=True)
class LeaseHeld:
    """The lease is another run's, until `until`."""

    until: datetime


async def converge_subscriber(deps: SyncContext, subscriber_id: int, attempt: Attempt) -> Outcome:
    started = time.monotonic()
    claim = await _claim(deps, subscriber_id)
    if claim is None:
        return Outcome.SKIPPED
    if isinstance(claim, LeaseHeld):
        return lease_held(subscriber_id, attempt, claim)
    return await converge_claimed(deps, claim, attempt, started)


async def converge_claimed(
    deps: SyncContext, claim: Claim, attempt: Attempt, started: float
) -> Outcome:
    """Apply and settle a claimed row (the lease is this run's)."""
    desired, router = claim.desired, claim.router
    if deps.known_down(router.id):
        await _end_attempt(
            deps,
            claim,
            attempt,
            started,
            state.RowOutcome.WAITING,
            f"router {router.name} is offline",
        )
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
        await _end_attempt(deps, claim, attempt, started, state.RowOutcome.FAILED, exc.message)
        raise PermanentError(exc.message) from exc
    except TransientRouterError as exc:
        return await _transient(deps, claim, attempt, started, exc)
    except TemporaryError as exc:
        await _retry_or_fail(deps, claim, attempt, started, exc.message)
        raise
    except asyncio.CancelledError:
        # Worker shutdown: hand the lease back so the next run need not wait for it to expire.
        await asyncio.shield(in_session(deps, lambda s: state.release(s, claim.token)))
        raise
    except Exception as exc:
        log.exception("converge of subscriber %s failed", desired.subscriber_id)
        await _retry_or_fail(deps, claim, attempt, started, f"internal error: {exc!r}")
        raise
    return await _finish(deps, claim, attempt, started, report)


def lease_held(subscriber_id: int, attempt: Attempt, held: LeaseHeld) -> Outcome:
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


async def in_session(deps: SyncContext, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session and commit it. Every `work` here is safe to run twice, so it
    runs again on a fresh connection if the pooled one turned out dead (no pre-ping on
    checkout: a connection the server closed while it sat idle fails its first statement),
    and, while the database is unreachable (restarting, failing over), again and again for up
    to `DB_RETRY_S`. Above all for the writes that settle a converge and hand its lease back:
    given up, they would leave the subscriber leased, and untouched, until the lease ran out."""
    deadline = time.monotonic() + DB_RETRY_S
    pause = DB_RETRY_FIRST_S
    tries = 0
    while True:
        tries += 1
        try:
            async with deps.sessionmaker() as session:
                result = await work(session)
                await session.commit()
                await counting.flush(deps.counters, session)
                return result
        except (DBAPIError, SQLAlchemyTimeout) as exc:
            if not database_unavailable(exc) or time.monotonic() + pause > deadline:
                raise
            if tries == 1 and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                log.warning("database connection was dead; running the statement again")
            else:
                log.warning("database unavailable; running the statement again in %.1f s", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, DB_RETRY_MAX_PAUSE_S)


async def load_claim(
    session: AsyncSession, deps: SyncContext, token: str, deadline: float
) -> list[Claim]:
    """The rows `token` holds, each with its desired state and the router (one SELECT each)."""
    rows = await state.claimed_rows(session, token)
    if not rows:
        return []
    router = await session.get(Router, rows[0].router_id)
    assert router is not None
    add_log_context(router_id=router.id, tenant_id=rows[0].tenant_id)
    return [
        Claim(row, desired_from_claimed(row, deps.vault), router, token, deadline) for row in rows
    ]


async def _claim(deps: SyncContext, subscriber_id: int) -> Claim | LeaseHeld | None:
    """Take the lease, mark the row `syncing` and snapshot its desired state in ONE transaction:
    the conditional UPDATE that takes the lease, then one joined SELECT. None if there is no
    work, `LeaseHeld` if another run has it."""
    token = uuid.uuid4().hex

    async def work(session: AsyncSession) -> Claim | LeaseHeld | None:
        deadline = asyncio.get_running_loop().time() + converge_budget_s(deps.settings)
        held = await state.claim_subscriber(
            session, subscriber_id=subscriber_id, token=token, lease_s=lease_s(deps.settings)
        )
        if held is not None:
            return LeaseHeld(held)
        claims = await load_claim(session, deps, token, deadline)
        return claims[0] if claims else None

    return await in_session(deps, work)


def _settlement(
    claim: Claim, attempt: Attempt, started: float, outcome: state.RowOutcome, message: str
) -> state.Settlement:
    duration = int((time.monotonic() - started) * 1000)
    return state.Settlement(
        claim.row, outcome, message, attempt.job_name, attempt.job_id, attempt.number, duration
    )


async def _finish(
    deps: SyncContext, claim: Claim, attempt: Attempt, started: float, report: ApplyReport
) -> Outcome:
    router = claim.router
    settlement = _settlement(claim, attempt, started, state.RowOutcome.SUCCEEDED, report.summary())

    async def work(session: AsyncSession) -> None:
        await state.settle(session, claim.token, [settlement])
        if router.is_online is not True:
            # Only on a change of state: a write per job would serialise jobs on the router row.
            await router_state.mark_online(session, router.id)

    await in_session(deps, work)
    deps.mark_up(router.id)
    return Outcome.REMOVED if claim.desired.remove else Outcome.SUCCEEDED


async def _end_attempt(
    deps: SyncContext,
    claim: Claim,
    attempt: Attempt,
    started: float,
    outcome: state.RowOutcome,
    message: str,
) -> None:
    settlement = _settlement(claim, attempt, started, outcome, message)
    await in_session(deps, lambda session: state.settle(session, claim.token, [settlement]))


async def _retry_or_fail(
    deps: SyncContext, claim: Claim, attempt: Attempt, started: float, message: str
) -> None:
    if attempt.is_last:
        message = f"gave up after {attempt.number} attempts: {message}"
        await _end_attempt(deps, claim, attempt, started, state.RowOutcome.FAILED, message)
        return
    await _end_attempt(deps, claim, attempt, started, state.RowOutcome.RETRYING, message)


async def _transient(
    deps: SyncContext,
    claim: Claim,
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
        # The router is unreachable, which is not the subscriber's error: the row stays pending.
        await _end_attempt(
            deps,
            claim,
            attempt,
            started,
            state.RowOutcome.WAITING,
            f"waiting for router {router.name}: {exc.message}",
        )
        return Outcome.WAITING
    await _retry_or_fail(deps, claim, attempt, started, exc.message)
    raise TemporaryError(exc.message) from exc
