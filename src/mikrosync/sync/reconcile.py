"""reconcile_router: a full diff of one router against the database, repaired per policy.

Who calls it: the worker's `reconcileRouter` job (`reconcile_job`: on a schedule and on demand),
`POST /api/v1/routers/{id}/reconcile` and `mikrosync reconcile`. Steps:

1. Snapshot the database: the router's subscribers and their plans (`plan_subscriber` on
   the desired state `load_desired` defines: the converge's own definition of what should be
   there), the tenant's packages and policy. The snapshot's queries run BEFORE the router is
   read, so a change that lands in between looks like drift, is then found to be in flight
   (its version moved) and is skipped: it is never "repaired" backwards.
2. Read the router (`observed.py`): one streamed print per menu. The read starts as soon as
   the snapshot's rows are in memory and overlaps with turning them into plans (password
   decryption, `plan_subscriber`), which yields to it every few hundred rows.
3. Classify (`drift.py`).
4. Unless it is a dry run, repair per the tenant's policy (`repair.py`): orphans removed and
   package profiles ensured directly; missing and different subscribers recorded as intent,
   so their fix runs through the same converge as every other change (no second write
   path). The caller pushes the returned jobs (API, worker) or converges them inline (CLI).
5. Store the run (`ReconcileRun`) and, for a real run, the router's last drift counts.

A router that cannot be read ends the run as `failed` with the router's words and marks the
router offline; nothing escapes but `NotFound` for an unknown router.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import NotFound
from mikrosync.packages.models import Package
from mikrosync.routeros import ConnectError, RouterOSError, RouterTrap
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.subscribers.intent import needs_sync, target_package_id
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync import counting, router_state
from mikrosync.sync.context import SyncContext
from mikrosync.sync.desired import desired_from_rows
from mikrosync.sync.drift import Drift, DriftKind, Expected, capped, classify, counts_of
from mikrosync.sync.errors import PermanentError
from mikrosync.sync.observed import PROGRESS_EVERY, Progress, read_router
from mikrosync.sync.plan import plan_subscriber
from mikrosync.sync.reconcile_runs.models import ReconcileRun, RunStatus
from mikrosync.sync.repair import BATCH, Repairs, leave_all, repair
from mikrosync.sync.sweep import Hint
from mikrosync.tenants.models import Tenant
from mikrosync.tenants.settings_service import ReconcilePolicy, effective_policy


@dataclass(frozen=True)
class ReconcileOutcome:
    run_id: int
    status: RunStatus
    dry_run: bool
    counts: dict[str, int]
    """Drift found, per kind (exact, whatever the item cap)."""
    remaining: dict[str, int]
    """Drift left after this run, per kind except `unmanaged` (which never counts): reported
    only, blocked, or failed. Fixes handed to converges count as done."""
    fix_jobs: tuple[Hint, ...]
    """The subscribers recorded as pending, with their job names: push or converge them."""
    duration: float
    error: str | None = None

    @property
    def fix_subscriber_ids(self) -> tuple[int, ...]:
        return tuple(job.subscriber_id for job in self.fix_jobs)

    @property
    def drift_remains(self) -> bool:
        return any(self.remaining.values())


@dataclass(frozen=True)
class _Snapshot:
    policy: ReconcilePolicy
    expected: list[Expected]
    package_ids: set[int]


async def reconcile_router(
    deps: SyncContext, router_id: int, *, dry_run: bool, progress: Progress | None = None
) -> ReconcileOutcome:
    """Compare one router with the database; repair per policy unless `dry_run`."""
    started = time.monotonic()
    router = await _load_router(deps, router_id)
    run_id = await _start_run(deps, router, dry_run)
    try:
        rows = await _snapshot_rows(deps, router)
        reading = asyncio.create_task(read_router(deps.client(router), router.tenant_id, progress))
        try:
            snapshot = await _snapshot(rows, deps.vault, progress)
        except BaseException:
            reading.cancel()
            with suppress(BaseException):
                await reading
            raise
        del rows  # the ORM rows are in the plans now: not held for the rest of the read
        try:
            observed = await reading
        except RouterOSError as exc:
            error = f"cannot read router {router.name}: {exc.message}"
            await _record_failure(deps, run_id, router, exc, error)
            return ReconcileOutcome(
                run_id, RunStatus.FAILED, dry_run, {}, {}, (), _since(started), error
            )
        drifts = classify(snapshot.expected, observed, snapshot.package_ids)
        repairs = (
            leave_all(drifts)
            if dry_run
            else await repair(deps, router, snapshot.policy, snapshot.expected, drifts)
        )
        return await _finish(deps, run_id, router, drifts, repairs, dry_run, started)
    except Exception as exc:
        await _record_failure(deps, run_id, router, None, f"internal error: {exc!r}")
        raise


async def reconcile_job(deps: SyncContext, router_id: int) -> ReconcileOutcome:
    """The worker's `reconcileRouter` handler: a real run; the caller pushes `fix_jobs`.

    A router that cannot be read is an outcome (`failed`), not an error: the next scheduled
    run tries again, so retrying with backoff would only add load. A router deleted since the
    job was pushed is a PermanentError (nothing to retry).
    """
    try:
        return await reconcile_router(deps, router_id, dry_run=False)
    except NotFound as exc:
        raise PermanentError(str(exc)) from exc


def _since(started: float) -> float:
    return time.monotonic() - started


# -- the database side -------------------------------------------------------------------------


async def _load_router(deps: SyncContext, router_id: int) -> Router:
    async with deps.sessionmaker() as session:
        router = await session.get(Router, router_id)
    if router is None:
        raise NotFound(f"no router with id {router_id}")
    return router


@dataclass(frozen=True)
class _SnapshotRows:
    """The database's side as read, in one session: three queries, nothing per row."""

    tenant: Tenant
    packages: dict[int, Package]
    subscribers: Sequence[Subscriber]


async def _snapshot_rows(deps: SyncContext, router: Router) -> _SnapshotRows:
    """The tenant, all its packages and the router's subscribers (detached, fully loaded)."""
    async with deps.sessionmaker() as session:
        tenant = await session.get(Tenant, router.tenant_id)
        assert tenant is not None
        held = select(Package).where(Package.tenant_id == tenant.id)
        packages = {package.id: package for package in (await session.scalars(held)).all()}
        query = select(Subscriber).where(Subscriber.router_id == router.id).order_by(Subscriber.id)
        subscribers = (await session.scalars(query)).all()
        # A subscriber on another tenant's package cannot be made through the API; should one
        # exist, its package is read here rather than failing the run.
        for row in subscribers:
            package_id = target_package_id(row)
            if package_id not in packages:
                package = await session.get(Package, package_id)
                assert package is not None
                packages[package_id] = package
    return _SnapshotRows(tenant, packages, subscribers)


# Rows turned into plans between two yields to the router read running beside the snapshot.
YIELD_EVERY = 250


async def _snapshot(rows: _SnapshotRows, vault: Vault, progress: Progress | None) -> _Snapshot:
    """Everything the database wants of this router: one plan per subscriber row, built as
    `load_desired` builds it (`desired_from_rows`) from the rows already read."""
    report = progress or (lambda _label, _count: None)
    suspension_profile = rows.tenant.suspension_profile
    expected: list[Expected] = []
    for row in rows.subscribers:
        package = rows.packages[target_package_id(row)]
        desired = desired_from_rows(row, package, suspension_profile, vault)
        expected.append(Expected(desired, plan_subscriber(desired), in_flight=needs_sync(row)))
        count = len(expected)
        if count % PROGRESS_EVERY == 0:
            report("database", count)
        if count % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    report("database", len(expected))
    package_ids = set(rows.packages)
    return _Snapshot(effective_policy(rows.tenant.reconcile_policy), expected, package_ids)


# -- the stored run ----------------------------------------------------------------------------


async def _start_run(deps: SyncContext, router: Router, dry_run: bool) -> int:
    async with deps.sessionmaker() as session:
        run = ReconcileRun(
            tenant_id=router.tenant_id,
            router_id=router.id,
            started_at=now(),
            dry_run=dry_run,
            status=RunStatus.RUNNING,
            counts={},
            items={},
            actions=[],
        )
        session.add(run)
        await session.commit()
        return run.id


async def _finish(
    deps: SyncContext,
    run_id: int,
    router: Router,
    drifts: Sequence[Drift],
    repairs: Repairs,
    dry_run: bool,
    started: float,
) -> ReconcileOutcome:
    counts = counts_of(drifts)
    status = RunStatus.PARTIAL if repairs.failures else RunStatus.SUCCEEDED
    error = None
    if repairs.failures:
        error = f"{len(repairs.failures)} repair(s) failed; first: {repairs.failures[0]}"
    actions = [entry for entries in capped(repairs.actions).values() for entry in entries]
    async with deps.sessionmaker() as session:
        await session.execute(
            update(ReconcileRun)
            .where(ReconcileRun.id == run_id)
            .values(
                finished_at=now(),
                status=status,
                counts=counts,
                items=capped((drift.kind, drift.item()) for drift in drifts),
                actions=actions,
                error=error,
            )
        )
        if not dry_run:
            await session.execute(
                update(Router)
                .where(Router.id == router.id)
                .values(last_reconciled_at=now(), last_drift_counts=counts)
            )
        if router.is_online is not True:
            await router_state.mark_online(session, router.id)
        await session.commit()
    if not dry_run:
        await counting.count(deps.counters, counting.drift(counts, repairs.actions))
    deps.mark_up(router.id)
    remaining = {str(kind): repairs.remaining[kind] for kind in DriftKind if kind != "unmanaged"}
    return ReconcileOutcome(
        run_id, status, dry_run, counts, remaining, tuple(repairs.jobs), _since(started), error
    )


async def _record_failure(
    deps: SyncContext, run_id: int, router: Router, exc: RouterOSError | None, error: str
) -> None:
    """End the run as failed; a router that could not be reached is marked offline (a trap
    means it answered, so it is not)."""
    async with deps.sessionmaker() as session:
        await session.execute(
            update(ReconcileRun)
            .where(ReconcileRun.id == run_id)
            .values(finished_at=now(), status=RunStatus.FAILED, error=error)
        )
        if exc is not None and not isinstance(exc, RouterTrap):
            await router_state.mark_offline(session, router.id, exc.message)
        await session.commit()
    if isinstance(exc, ConnectError):
        deps.mark_down(router.id)


# -- for callers -------------------------------------------------------------------------------


async def subscribers_by_id(session: AsyncSession, ids: Sequence[int]) -> list[Subscriber]:
    """The rows of `fix_subscriber_ids`, for `push_intents` (which wants rows)."""
    rows: list[Subscriber] = []
    for start in range(0, len(ids), BATCH):
        query = select(Subscriber).where(Subscriber.id.in_(ids[start : start + BATCH]))
        rows.extend((await session.scalars(query)).all())
    return rows
