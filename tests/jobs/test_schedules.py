"""Delayed jobs run on time; job schedulers are idempotent and fire repeatedly."""

from __future__ import annotations

import asyncio
import itertools
import time

from mikrosync.jobs import JobInfo, JobQueue, Schedule
from mikrosync.jobs.names import (
    CHECK_ROUTER_HEALTH,
    PROCESS_EXPIRED,
    SCHEDULE_EXPIRED,
    SWEEP_PENDING,
)
from tests.plugins.jobs import Recorder, WorkerFactory, running, wait_for


async def test_a_delayed_job_runs_close_to_its_time(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    lateness: list[float] = []

    async def measure(info: JobInfo) -> None:
        lateness.append(time.time() * 1000 - int(info.data["due_ms"]))

    async with running(make_worker({PROCESS_EXPIRED: measure})):
        # Without the getRedisVersion fix the worker rounds its wait up to whole seconds, so a
        # job due in 1.1 s starts about 0.9 s late.
        delay_ms = 1100
        due_ms = int(time.time() * 1000) + delay_ms
        await queue.push(PROCESS_EXPIRED, {"due_ms": due_ms}, delay_ms=delay_ms)
        await wait_for(lambda: bool(lateness), timeout=5)

    assert -5 <= lateness[0] < 400, lateness


async def test_two_workers_upsert_one_scheduler_that_fires_repeatedly(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    recorder = Recorder()
    schedules = [
        Schedule(SWEEP_PENDING, every_ms=300, data={"batch": 100}),
        Schedule(SCHEDULE_EXPIRED, cron="* * * * * *"),  # every second (seconds field first)
    ]
    handlers = {SWEEP_PENDING: recorder.handler(), SCHEDULE_EXPIRED: recorder.handler()}
    first = make_worker(handlers, schedules=schedules)
    second = make_worker(handlers, schedules=schedules)
    async with running(first), running(second):
        await wait_for(lambda: len(recorder.named(SWEEP_PENDING)) >= 4, timeout=5)
        await wait_for(lambda: len(recorder.named(SCHEDULE_EXPIRED)) >= 1, timeout=3)
        schedulers = await queue.schedulers()
        counts = await queue.counts()

    assert sorted((s["key"], s["every_ms"], s["cron"]) for s in schedulers) == [
        (SCHEDULE_EXPIRED, None, "* * * * * *"),
        (SWEEP_PENDING, 300, None),
    ]
    # One pending iteration per scheduler, however many workers upserted it.
    assert counts["delayed"] + counts["waiting"] <= 2
    sweeps = recorder.named(SWEEP_PENDING)
    assert len({run.info.id for run in sweeps}) == len(sweeps)
    assert all(run.info.data == {"batch": 100} for run in sweeps)
    assert all(run.info.max_attempts == 1 for run in sweeps)
    # Each iteration is due `every_ms` after the one before (its id is `repeat:<key>:<due ms>`).
    # When a run starts depends on the machine's load, so start times are not compared.
    due_ms = sorted(int(run.info.id.rsplit(":", 1)[1]) for run in sweeps)
    assert all(later - earlier >= 300 for earlier, later in itertools.pairwise(due_ms)), due_ms


async def test_upsert_again_keeps_one_scheduler(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    schedule = [Schedule(SWEEP_PENDING, every_ms=60_000)]
    for _ in range(3):
        async with running(make_worker({SWEEP_PENDING: Recorder().handler()}, schedules=schedule)):
            pass
    [scheduler] = await queue.schedulers()
    assert scheduler["every_ms"] == 60_000
    counts = await queue.counts()
    assert counts["delayed"] + counts["waiting"] + counts["completed"] <= 1 + 3


async def test_dynamic_schedules_are_added_and_removed_through_the_queue(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    recorder = Recorder()

    def routers() -> list[int]:
        return [run.info.data["router_id"] for run in recorder.runs]

    async with running(make_worker({CHECK_ROUTER_HEALTH: recorder.handler()})):
        for router in (1, 2):
            await queue.upsert_schedule(
                Schedule(
                    CHECK_ROUTER_HEALTH,
                    every_ms=200,
                    key=f"health-router-{router}",
                    data={"router_id": router},
                )
            )
        await wait_for(lambda: routers().count(1) >= 2 and routers().count(2) >= 2)
        await queue.remove_schedule("health-router-1")
        await queue.remove_schedule("health-router-1")  # absent: fine
        runs_of_1 = routers().count(1)
        await asyncio.sleep(0.6)
        assert [s["key"] for s in await queue.schedulers()] == ["health-router-2"]

    # Removing the scheduler also removed its pending run.
    assert routers().count(1) == runs_of_1
