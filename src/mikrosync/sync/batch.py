"""The per-router unit of work: every subscriber job drains its router's owed changes.

A subscriber job (`addUser`, `disconnectUser`, ...) names one subscriber and its router. The run
claims up to `BATCH_SIZE` rows of that router that have work (one UPDATE; the per-row lease of
DESIGN §1.5), snapshots them (one SELECT), plans each (pure), applies them with pipelined
commands (`batch_apply.py`), settles every row with set-based statements (`state.py`), and
claims again until the router owes nothing. A lone change takes the same road with a batch of
one, which is the old single-subscriber converge (`converge.py`), fast path included.

Fairness and parallelism, per worker process (`RouterRuns`): at most `RUNS_PER_ROUTER` runs
drain one router at a time. A job whose router is already being drained here returns at once
(its subscriber is in that run's reach: the run claims again before it ends, and a flag set by
the job makes it look once more), so a worker's job slots go to other routers' jobs instead of
queueing behind one router. Across processes the row lease keeps claims disjoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.logs import add_log_context
from mikrosync.routeros import ConnectError, SessionLimit, TransientRouterError
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber, SyncStatus
from mikrosync.sync import router_state, state
from mikrosync.sync.batch_apply import RowResult, apply_batch
from mikrosync.sync.context import SyncContext
from mikrosync.sync.converge import (
    Attempt,
    Claim,
    Outcome,
    converge_budget_s,
    converge_claimed,
    in_session,
    lease_s,
    load_claim,
)
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.sync.plan import RouterPlan, plan_subscriber

log = logging.getLogger(__name__)

BATCH_SIZE = 500
"""Rows one claim takes: enough to keep a pipeline full for a while, few enough that a row
claimed last is not held long, and that a run's statements stay small. A batch from 24 rows
on reads each menu whole (by the tenant's tag prefix): on a router of 5,000 subscribers, 200
a batch read every secret 25 times (the month-end benchmark's worker and router CPU)."""
RUNS_PER_ROUTER = 2
"""Runs draining one router at once in one worker process (each on one API connection)."""


@dataclass
class RouterRuns:
    """Which routers this process is draining, and which got a job meanwhile."""

    per_router: int = RUNS_PER_ROUTER
    active: Counter[int] = field(default_factory=Counter)
    dirty: set[int] = field(default_factory=set)

    def enter(self, router_id: int) -> bool:
        if self.active[router_id] >= self.per_router:
            self.dirty.add(router_id)
            return False
        self.active[router_id] += 1
        return True

    def leave(self, router_id: int) -> None:
        self.active[router_id] -= 1
        if self.active[router_id] <= 0:
            del self.active[router_id]


async def sync_subscriber(
    deps: SyncContext, runs: RouterRuns, subscriber_id: int, attempt: Attempt
) -> Outcome:
    """Run a subscriber job: drain the subscriber's router, this subscriber first."""
    router_id = await _owed_router(deps, subscriber_id)
    if router_id is None:
        # Already synced (a run of its router took it), removed, or in error: one SELECT, no
        # claim. Most jobs of a mass change end here once the first ones drained the router.
        return Outcome.SKIPPED
    if not runs.enter(router_id):
        return Outcome.BUSY
    try:
        return await _drain(deps, runs, router_id, subscriber_id, attempt)
    finally:
        runs.leave(router_id)


async def sync_router(
    deps: SyncContext, runs: RouterRuns, router_id: int, attempt: Attempt, first: int | None = None
) -> Outcome:
    """Run a router job (many subscribers of one router pushed at once): drain the router."""
    if not runs.enter(router_id):
        return Outcome.BUSY
    try:
        return await _drain(deps, runs, router_id, first, attempt)
    finally:
        runs.leave(router_id)


async def _owed_router(deps: SyncContext, subscriber_id: int) -> int | None:
    """The subscriber's router, if the subscriber has work (whoever holds its lease)."""
    has_work = and_(
        Subscriber.sync_status != SyncStatus.ERROR,
        Subscriber.synced_version < Subscriber.desired_version,
    )
    async with deps.sessionmaker() as session:
        found = (
            await session.execute(
                select(Subscriber.router_id, has_work).where(Subscriber.id == subscriber_id)
            )
        ).first()
    if found is None:
        return None
    router_id, owed = found
    add_log_context(router_id=router_id)
    return int(router_id) if owed else None


@dataclass
class _Claimed:
    token: str
    router: Router
    claims: list[Claim]

    @property
    def rows(self) -> list[state.ClaimedRow]:
        return [claim.row for claim in self.claims]


async def _drain(
    deps: SyncContext, runs: RouterRuns, router_id: int, first: int | None, attempt: Attempt
) -> Outcome:
    """Claim and converge the router's owed rows until none is left (or the router is out).

    The outcome and any error returned are those of `first`'s row, the job's own subscriber;
    the other rows' outcomes are in their timelines.
    """
    mine: Outcome = Outcome.SKIPPED
    failure: Exception | None = None
    while True:
        runs.dirty.discard(router_id)
        claimed = await _claim(deps, router_id, first)
        if claimed is None:
            if router_id in runs.dirty:
                continue
            break
        add_log_context(router_id=router_id)
        outcome, error, stop = await _run(deps, claimed, first, attempt)
        if outcome is not None:
            mine = outcome
        if error is not None and (failure is None or isinstance(error, PermanentError)):
            failure = error
        if stop:
            break
    if failure is not None:
        raise failure
    return mine


async def _claim(deps: SyncContext, router_id: int, first: int | None) -> _Claimed | None:
    token = uuid.uuid4().hex

    async def work(session: AsyncSession) -> _Claimed | None:
        deadline = asyncio.get_running_loop().time() + converge_budget_s(deps.settings)
        await state.claim_router_rows(
            session,
            router_id=router_id,
            token=token,
            limit=BATCH_SIZE,
            lease_s=lease_s(deps.settings),
            first=first,
        )
        claims = await load_claim(session, deps, token, deadline)
        if not claims:
            return None
        return _Claimed(token, claims[0].router, claims)

    return await in_session(deps, work)


async def _run(
    deps: SyncContext, claimed: _Claimed, first: int | None, attempt: Attempt
) -> tuple[Outcome | None, Exception | None, bool]:
    """Converge one claim. Returns `first`'s outcome (None if not in this claim), its error to
    raise, and whether to stop draining (the router is unreachable)."""
    if len(claimed.rows) == 1:
        return await _run_one(deps, claimed, first, attempt)
    started = time.monotonic()
    router = claimed.router
    if deps.known_down(router.id):
        await _settle_all(deps, claimed, attempt, started, f"router {router.name} is offline")
        return _own(claimed, first, Outcome.WAITING), None, True
    plans: list[RouterPlan] = [
        plan_subscriber(claim.desired, fresh=claim.fresh) for claim in claimed.claims
    ]
    try:
        async with asyncio.timeout_at(claimed.claims[0].deadline):
            report = await apply_batch(deps.client(router), plans)
    except asyncio.CancelledError:
        await asyncio.shield(in_session(deps, lambda s: state.release(s, claimed.token)))
        raise
    except (TimeoutError, TransientRouterError) as exc:
        message = exc.message if isinstance(exc, TransientRouterError) else "batch cut off"
        return await _unreachable(deps, claimed, first, attempt, started, exc, message)
    if report.broken is not None and not any(r.ok for r in report.results):
        return await _unreachable(
            deps, claimed, first, attempt, started, report.broken, report.broken.message
        )
    return await _settle_results(deps, claimed, first, attempt, started, report.results)


def _own(claimed: _Claimed, first: int | None, outcome: Outcome) -> Outcome | None:
    if first is None:  # a router job: the batch's outcome is the job's
        return outcome
    return outcome if any(row.id == first for row in claimed.rows) else None


async def _run_one(
    deps: SyncContext, claimed: _Claimed, first: int | None, attempt: Attempt
) -> tuple[Outcome | None, Exception | None, bool]:
    """A claim of one row: the single-subscriber converge, with its own error semantics."""
    claim = claimed.claims[0]
    row = claim.row
    own = row.id == first
    router_job = first is None
    run_attempt = attempt if own else Attempt(row.operation, attempt.job_id, 1, True)
    try:
        outcome = await converge_claimed(deps, claim, run_attempt, time.monotonic())
    except PermanentError as exc:
        # Only the job's own subscriber's refusal fails the job; the row holds the error.
        return None, (exc if own else None), False
    except TemporaryError as exc:
        # The row is pending again: this job comes back (with backoff) to drain once more.
        return None, exc, True
    stop = outcome is Outcome.WAITING
    return (outcome if own or router_job else None), None, stop


async def _unreachable(
    deps: SyncContext,
    claimed: _Claimed,
    first: int | None,
    attempt: Attempt,
    started: float,
    exc: BaseException,
    message: str,
) -> tuple[Outcome | None, Exception | None, bool]:
    """The router did not take the batch: park every row (router offline ≠ subscriber error).

    A refused connection marks the router offline (the health check pushes its rows when it
    is back); a timeout or a lost connection is retried by the job with backoff.
    """
    router = claimed.router
    if isinstance(exc, ConnectError | SessionLimit):
        if isinstance(exc, ConnectError):
            deps.mark_down(router.id)

            async def offline(session: AsyncSession) -> None:
                await router_state.mark_offline(session, router.id, message)

            await in_session(deps, offline)
        await _settle_all(
            deps, claimed, attempt, started, f"waiting for router {router.name}: {message}"
        )
        return _own(claimed, first, Outcome.WAITING), None, True
    await _settle_all(deps, claimed, attempt, started, message, state.RowOutcome.RETRYING)
    return _own(claimed, first, Outcome.WAITING), TemporaryError(message), True


async def _settle_all(
    deps: SyncContext,
    claimed: _Claimed,
    attempt: Attempt,
    started: float,
    message: str,
    outcome: state.RowOutcome = state.RowOutcome.WAITING,
) -> None:
    duration = int((time.monotonic() - started) * 1000)
    settlements = [
        state.Settlement(
            row, outcome, message, row.operation, attempt.job_id, attempt.number, duration
        )
        for row in claimed.rows
    ]
    await in_session(deps, lambda session: state.settle(session, claimed.token, settlements))


async def _settle_results(
    deps: SyncContext,
    claimed: _Claimed,
    first: int | None,
    attempt: Attempt,
    started: float,
    results: list[RowResult],
) -> tuple[Outcome | None, Exception | None, bool]:
    duration = int((time.monotonic() - started) * 1000)
    settlements: list[state.Settlement] = []
    own: Outcome | None = None
    error: Exception | None = None
    retry_later = False
    for row, result in zip(claimed.rows, results, strict=True):
        if result.error is not None:
            outcome, message = state.RowOutcome.FAILED, result.error
        elif result.retry is not None:
            outcome, message = state.RowOutcome.RETRYING, result.retry
            retry_later = True
        else:
            outcome, message = state.RowOutcome.SUCCEEDED, result.summary()
        operation = attempt.job_name if row.id == first else row.operation
        settlements.append(
            state.Settlement(
                row, outcome, message, operation, attempt.job_id, attempt.number, duration
            )
        )
        if row.id == first:
            own = {
                state.RowOutcome.SUCCEEDED: Outcome.REMOVED
                if row.pending_removal
                else Outcome.SUCCEEDED,
                state.RowOutcome.FAILED: Outcome.SUCCEEDED,
                state.RowOutcome.RETRYING: Outcome.WAITING,
            }.get(outcome, Outcome.WAITING)
            if outcome == state.RowOutcome.FAILED:
                error = PermanentError(message)
            elif outcome == state.RowOutcome.RETRYING:
                error = TemporaryError(message)

    async def work(session: AsyncSession) -> None:
        await state.settle(session, claimed.token, settlements)
        if claimed.router.is_online is not True and any(
            s.outcome == state.RowOutcome.SUCCEEDED for s in settlements
        ):
            await router_state.mark_online(session, claimed.router.id)

    await in_session(deps, work)
    if any(s.outcome == state.RowOutcome.SUCCEEDED for s in settlements):
        deps.mark_up(claimed.router.id)
    if first is None:
        succeeded = any(s.outcome == state.RowOutcome.SUCCEEDED for s in settlements)
        own = Outcome.SUCCEEDED if succeeded else Outcome.WAITING
    if retry_later and error is None:
        # Rows to retry that are not the job's own: this job comes back for them.
        error = TemporaryError("some subscribers of the batch are to be retried")
    return own, error, retry_later
