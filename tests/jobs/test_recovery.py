"""Stalled-job recovery after SIGKILL, and graceful shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio

from mikrosync.jobs import JobInfo, JobQueue, QueueUnavailable, SyncWorker
from mikrosync.jobs.names import ADD_USER
from tests.plugins.jobs import (
    TEST_LOCK_MS,
    TEST_STALLED_MS,
    Recorder,
    SpawnProbe,
    WorkerFactory,
    has_jobs,
    probe_events,
    running,
    wait_for,
    wait_ready,
)


async def test_a_killed_workers_job_runs_again_in_another_worker(
    queue: JobQueue, spawn_probe: SpawnProbe, raw: redis.asyncio.Redis, prefix: str
) -> None:
    doomed = await spawn_probe("A")
    job_id = await queue.push("probe", {"subscriber_id": 1, "sleep": 60})

    async def started_on(worker: str) -> bool:
        events = await probe_events(raw, prefix)
        return any(e["event"] == "start" and e.get("worker") == worker for e in events)

    await wait_for(lambda: started_on("A"), timeout=15)
    await spawn_probe("B")
    # B's start-up (a Python process, slow on a loaded machine) is not part of the recovery
    # being timed: kill A once B is up and listening.
    await wait_ready(raw, prefix, 2)
    doomed.process.kill()
    await doomed.process.wait()
    killed_at = time.time()

    await wait_for(lambda: started_on("B"), timeout=10)
    events = await probe_events(raw, prefix)
    [rerun] = [e for e in events if e["event"] == "start" and e.get("worker") == "B"]
    assert rerun["job"] == job_id
    assert rerun["attempt"] == 1  # a stall is not a failed attempt
    # The lock expires, then the next stalled check requeues the job.
    assert rerun["t"] - killed_at < (TEST_LOCK_MS + TEST_STALLED_MS) / 1000 + 1.5
    await wait_for(lambda: has_jobs(queue, "completed"))


async def test_stop_lets_the_running_job_finish(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    async def slow(_info: JobInfo) -> None:
        await asyncio.sleep(0.5)

    recorder = Recorder()
    stop = asyncio.Event()
    task = asyncio.create_task(make_worker({ADD_USER: recorder.handler(slow)}).run(stop))
    await queue.push_subscriber(ADD_USER, 1)
    await wait_for(lambda: bool(recorder.runs))
    stop.set()
    # Beyond the worker's 5 s shutdown timeout: what is checked is that the job was let finish.
    await asyncio.wait_for(task, timeout=15)

    [run] = recorder.runs
    assert run.ended is not None and run.ended - run.started >= 0.5
    counts = await queue.counts()
    assert (counts["completed"], counts["active"]) == (1, 0)


async def test_stop_cancels_jobs_that_outlast_the_shutdown_timeout(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    cancelled = asyncio.Event()

    async def endless(_info: JobInfo) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    recorder = Recorder()
    worker = make_worker({ADD_USER: recorder.handler(endless)}, shutdown_timeout_s=0.3)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await queue.push_subscriber(ADD_USER, 1)
    await wait_for(lambda: bool(recorder.runs))
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    assert cancelled.is_set()
    assert time.monotonic() - started < 2
    # Its lock expires and the job goes back to waiting, for the next worker to run.
    recovered = Recorder()
    async with running(make_worker({ADD_USER: recovered.handler()})):
        await wait_for(lambda: bool(recovered.runs), timeout=5)


async def test_a_worker_without_redis_fails_at_start() -> None:
    worker = SyncWorker("redis://127.0.0.1:1", {ADD_USER: Recorder().handler()})
    started = time.monotonic()
    with pytest.raises(QueueUnavailable):
        await worker.run(asyncio.Event())
    assert time.monotonic() - started < 3
