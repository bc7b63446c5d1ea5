"""The worker's voucher handlers as the worker wires them (`worker.build_handlers`), with the
real queue on the machine's Redis: a router that comes back gets its waiting batches pushed;
the scan pushes what is owed; the batch job carries a batch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from bullmq import Queue

from mikrosync.jobs import names
from mikrosync.jobs.handlers import build_handlers
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.worker import JobInfo
from mikrosync.settings import Settings
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, TEST_REDIS_URL, delete_prefix
from tests.plugins.vouchers import VoucherSite


@pytest.fixture
async def queue() -> AsyncIterator[JobQueue]:
    prefix = f"vh-{uuid.uuid4().hex[:8]}"
    jobs = JobQueue(TEST_REDIS_URL, prefix=prefix, timeout_s=TEST_PUSH_TIMEOUT_S)
    yield jobs
    await jobs.close()
    await delete_prefix(prefix)


async def _waiting_batches(queue: JobQueue) -> list[int]:
    raw = Queue(names.SYNC_QUEUE, {"connection": TEST_REDIS_URL, "prefix": queue.prefix})
    try:
        jobs = await raw.getJobs(["waiting", "prioritized"], 0, 1000)
    finally:
        await raw.close()
    return [int(j.data["batch_id"]) for j in jobs if j.name == names.SYNC_VOUCHER_BATCH]


def _job(name: str, **data: int) -> JobInfo:
    return JobInfo(id="t", name=name, data=data, attempt=1, max_attempts=1)


async def test_router_back_online_gets_its_batches_pushed(
    site: VoucherSite, queue: JobQueue, settings: Settings
) -> None:
    assert site.deps is not None
    handlers = build_handlers(site.deps, queue)
    created = await site.batch(count=5)
    await site.sim.go_down()
    await handlers[names.CHECK_ROUTER_HEALTH](_job(names.CHECK_ROUTER_HEALTH))
    assert created.id not in await _waiting_batches(queue)
    await site.sim.come_up()
    await handlers[names.CHECK_ROUTER_HEALTH](_job(names.CHECK_ROUTER_HEALTH))
    assert created.id in await _waiting_batches(queue)
    result = await handlers[names.SYNC_VOUCHER_BATCH](
        _job(names.SYNC_VOUCHER_BATCH, batch_id=created.id)
    )
    assert isinstance(result, dict) and result["added"] == 5 and result["status"] == "synced"
    summary = await handlers[names.SCAN_VOUCHERS](_job(names.SCAN_VOUCHERS))
    assert isinstance(summary, dict) and set(summary) == {"owed", "stale", "unreachable"}
