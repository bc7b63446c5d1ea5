"""The worker's job handlers: each job name of `mikrotik-sync` wired to its sync routine.

Every subscriber job runs the same converge routine (the job name is only the reason). Handlers
that find more work (the sweeper, the health check, expiry, reconciliation) push it themselves;
a failed push there fails the job, which bullmq retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from mikrosync.jobs import names
from mikrosync.jobs.message_handlers import message_handlers
from mikrosync.jobs.payloads import check_payload, expected_shapes
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.push import push_voucher_batch
from mikrosync.jobs.worker import Handler, JobInfo
from mikrosync.logs import log_context
from mikrosync.sync.batch import RouterRuns, sync_router, sync_subscriber
from mikrosync.sync.context import SyncContext
from mikrosync.sync.converge import Attempt
from mikrosync.sync.expiry import active_tenant_ids, expire_due
from mikrosync.sync.health import check_all_routers
from mikrosync.sync.profiles import sync_package
from mikrosync.sync.reconcile import reconcile_job
from mikrosync.sync.router_state import active_routers
from mikrosync.sync.sweep import Hint, take_stale
from mikrosync.vouchers.carry import carry_batch
from mikrosync.vouchers.lifecycle import owed_batches, scan_all, stale_batches

log = logging.getLogger(__name__)


async def _push(queue: JobQueue, hints: list[Hint]) -> int:
    if hints:
        await queue.push_subscribers(
            [(hint.job_name, hint.subscriber_id) for hint in hints],
            routers={h.subscriber_id: h.router_id for h in hints if h.router_id is not None},
        )
    return len(hints)


async def _sweep(deps: SyncContext, queue: JobQueue) -> int:
    """Push the rows owed for a while, first releasing the deduplication of any of their
    jobs that sits in no list (`JobQueue.release_stranded`)."""
    stale = await take_stale(deps)
    released = await queue.release_stranded(_dedup_ids(stale))
    if released:
        log.warning("released %d deduplication key(s) of jobs in no list", released)
    return await _push(queue, stale)


async def _expire(deps: SyncContext, queue: JobQueue, tenant_id: int) -> int:
    """Suspend the tenant's expired subscribers, pushing each batch's jobs once it commits."""
    pushed = 0
    async for hints in expire_due(deps, tenant_id):
        pushed += await _push(queue, hints)
    return pushed


def _dedup_ids(hints: list[Hint]) -> list[str]:
    """The deduplication ids a push of `hints` would use (the subscribers' and routers')."""
    routers = {hint.router_id for hint in hints if hint.router_id is not None}
    return [names.subscriber_dedup_id(hint.subscriber_id) for hint in hints] + [
        names.router_dedup_id(router_id) for router_id in sorted(routers)
    ]


def voucher_handlers(deps: SyncContext, queue: JobQueue) -> dict[str, Handler]:
    """`syncVoucherBatch` and the periodic `scanVouchers` (docs/vouchers.md)."""

    async def voucher_batch(job: JobInfo) -> dict[str, object]:
        batch_id = int(job.data["batch_id"])
        with log_context(job_id=job.id, job=job.name, batch_id=batch_id):
            return (await carry_batch(deps, batch_id)).as_dict()

    async def scan_vouchers(_job: JobInfo) -> dict[str, int]:
        owed, errors = await scan_all(deps)
        stale = await stale_batches(deps, deps.settings.sweep_stale_after_s)
        for batch_id in sorted({*owed, *stale}):
            await push_voucher_batch(queue, batch_id)
        return {"owed": len(owed), "stale": len(stale), "unreachable": len(errors)}

    return {names.SYNC_VOUCHER_BATCH: voucher_batch, names.SCAN_VOUCHERS: scan_vouchers}


async def _converge_router(deps: SyncContext, runs: RouterRuns, job: JobInfo) -> str:
    """A job that carries many subscribers of one router (see `JobQueue.push_subscribers`)."""
    router_id = int(job.data["router_id"])
    attempt = Attempt(job.name, job.id, job.attempt, job.is_last_attempt)
    with log_context(job_id=job.id, job=job.name, router_id=router_id):
        outcome = await sync_router(deps, runs, router_id, attempt)
        log.info("%s attempt %d (router %s): %s", job.name, job.attempt, router_id, outcome.value)
    return outcome.value


async def _check_health(deps: SyncContext, queue: JobQueue) -> dict[str, int]:
    """Check every router; one that came back gets its waiting subscribers and voucher
    batches pushed at once."""
    results, hints = await check_all_routers(deps)
    pushed = await _push(queue, hints)
    back = [result.router_id for result in results if result.came_back]
    if back:
        for batch_id in await owed_batches(deps, back):
            await push_voucher_batch(queue, batch_id)
    online = sum(result.online for result in results)
    return {"routers": len(results), "online": online, "pushed": pushed}


def build_handlers(deps: SyncContext, queue: JobQueue) -> Mapping[str, Handler]:
    runs = RouterRuns()

    async def converge(job: JobInfo) -> str:
        if "subscriber_id" not in job.data and "router_id" in job.data:
            return await _converge_router(deps, runs, job)
        subscriber_id = int(job.data["subscriber_id"])
        attempt = Attempt(job.name, job.id, job.attempt, job.is_last_attempt)
        with log_context(job_id=job.id, job=job.name, subscriber_id=subscriber_id):
            outcome = await sync_subscriber(deps, runs, subscriber_id, attempt)
            log.info("%s attempt %d: %s", job.name, job.attempt, outcome.value)
        return outcome.value

    async def sweep(_job: JobInfo) -> int:
        return await _sweep(deps, queue)

    async def health(_job: JobInfo) -> dict[str, int]:
        return await _check_health(deps, queue)

    async def schedule_expiry(_job: JobInfo) -> int:
        tenants = await active_tenant_ids(deps)
        for tenant_id in tenants:
            await queue.push(
                names.PROCESS_EXPIRED,
                {"tenant_id": tenant_id},
                dedup_id=names.tenant_expiry_dedup_id(tenant_id),
            )
        return len(tenants)

    async def process_expired(job: JobInfo) -> int:
        return await _expire(deps, queue, int(job.data["tenant_id"]))

    async def package(job: JobInfo) -> int:
        return len(await sync_package(deps, int(job.data["package_id"])))

    async def schedule_reconciles(_job: JobInfo) -> int:
        async with deps.sessionmaker() as session:
            router_ids = [router.id for router in await active_routers(session)]
        for router_id in router_ids:
            await queue.push(
                names.RECONCILE_ROUTER,
                {"router_id": router_id},
                dedup_id=names.reconcile_dedup_id(router_id),
                keep_last_if_active=False,
            )
        return len(router_ids)

    async def reconcile(job: JobInfo) -> dict[str, object]:
        router_id = int(job.data["router_id"])
        with log_context(job_id=job.id, job=job.name, router_id=router_id):
            outcome = await reconcile_job(deps, router_id)
            pushed = await _push(queue, list(outcome.fix_jobs))
            log.info("reconciled router %s: %s, %d fix job(s)", router_id, outcome.counts, pushed)
        return {"run_id": outcome.run_id, "status": str(outcome.status), "fixes": pushed}

    handlers: dict[str, Handler] = dict.fromkeys(names.SUBSCRIBER_JOBS, converge)
    handlers.update(voucher_handlers(deps, queue))
    handlers.update(message_handlers(deps, queue))
    handlers[names.SWEEP_PENDING] = sweep
    handlers[names.CHECK_ROUTER_HEALTH] = health
    handlers[names.SCHEDULE_EXPIRED] = schedule_expiry
    handlers[names.PROCESS_EXPIRED] = process_expired
    handlers[names.SYNC_PACKAGE] = package
    handlers[names.SCHEDULE_RECONCILES] = schedule_reconciles
    handlers[names.RECONCILE_ROUTER] = reconcile
    return {name: _checked(name, handler) for name, handler in handlers.items()}


def _checked(name: str, handler: Handler) -> Handler:
    """`handler`, run only for data of the shape job `name` takes (else: failed, unretried)."""
    if not expected_shapes(name):
        return handler

    async def run(job: JobInfo) -> object:
        check_payload(job.name, job.data)
        return await handler(job)

    return run
