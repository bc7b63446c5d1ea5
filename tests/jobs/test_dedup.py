"""Never two converges of one subscriber at once: deduplication with keepLastIfActive."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

import redis.asyncio

from mikrosync.jobs import JobInfo, JobQueue
from mikrosync.jobs.names import (
    ADD_USER,
    CONNECT_USER,
    DISCONNECT_USER,
    RETRY,
    UPDATE_USER,
    UPDATE_USER_PACKAGE,
)
from mikrosync.sync.errors import PermanentError
from tests.plugins.jobs import (
    Recorder,
    SpawnProbe,
    WorkerFactory,
    has_jobs,
    probe_events,
    queue_key,
    running,
    stop_process,
    wait_for,
    wait_ready,
)


async def test_pushes_while_active_leave_one_waiting_job_that_runs_after(
    queue: JobQueue, make_worker: WorkerFactory, raw: redis.asyncio.Redis, prefix: str
) -> None:
    recorder = Recorder(hold=True)
    names = [ADD_USER, UPDATE_USER, CONNECT_USER, DISCONNECT_USER, UPDATE_USER_PACKAGE]
    async with running(make_worker(dict.fromkeys(names, recorder.handler()))):
        await queue.push_subscriber(ADD_USER, 1)
        await wait_for(lambda: len(recorder.runs) == 1)
        for name in names[1:]:
            await queue.push_subscriber(name, 1)

        counts = await queue.counts()
        assert (counts["active"], counts["waiting"]) == (1, 0)
        # The one job that will follow is parked until the active one finishes, with the
        # latest push's name.
        parked = await raw.hgetall(queue_key(prefix, "dn:subscriber-1"))
        assert parked["name"] == UPDATE_USER_PACKAGE
        await asyncio.sleep(0.3)
        assert len(recorder.runs) == 1

        recorder.gate.set()
        await wait_for(lambda: len(recorder.runs) == 2 and recorder.runs[1].ended is not None)
        await wait_for(lambda: has_jobs(queue, "completed", 2))

    first, second = recorder.runs
    assert (first.info.name, second.info.name) == (ADD_USER, UPDATE_USER_PACKAGE)
    assert first.ended is not None and second.started >= first.ended
    assert second.info.data == {"subscriber_id": 1}


async def test_other_subscribers_are_not_held_back(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    recorder = Recorder(hold=True)
    async with running(make_worker({ADD_USER: recorder.handler()}, concurrency=4)):
        for subscriber in (1, 2, 3):
            await queue.push_subscriber(ADD_USER, subscriber)
        await wait_for(lambda: len(recorder.runs) == 3)
        recorder.gate.set()
    assert {run.info.data["subscriber_id"] for run in recorder.runs} == {1, 2, 3}


async def test_two_worker_processes_never_overlap_one_subscriber(
    queue: JobQueue, spawn_probe: SpawnProbe, raw: redis.asyncio.Redis, prefix: str
) -> None:
    probes = [await spawn_probe(tag, "--concurrency", "2", "--sleep", "0.15") for tag in "AB"]
    await wait_ready(raw, prefix, 2)
    subscribers = [1, 2, 3, 4]

    async def drained() -> bool:
        counts = await queue.counts()
        return counts["active"] + counts["waiting"] == 0

    for round_ in range(5):
        # Rotate the order so each round hands different subscribers to the first worker
        # that wakes up; the second wave lands while the first runs and is parked.
        order = subscribers[round_:] + subscribers[:round_]
        for name in (UPDATE_USER, CONNECT_USER):
            for subscriber in order:
                await queue.push_subscriber(name, subscriber)
            await asyncio.sleep(0.05)
        await wait_for(drained, timeout=10)
    for probe in probes:
        assert await stop_process(probe.process) == 0  # SIGTERM: graceful exit

    events = await probe_events(raw, prefix)
    spans: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    starts = {e["job"]: e for e in events if e["event"] == "start"}
    for end in (e for e in events if e["event"] == "end"):
        start = starts[end["job"]]
        spans[end["subscriber"]].append((start["t"], end["t"], end["worker"]))
    assert set(spans) == set(subscribers)
    # Per round and subscriber: one run, plus at most one for the parked second wave.
    assert all(5 <= len(runs) <= 10 for runs in spans.values()), spans
    for subscriber, runs in spans.items():
        runs.sort()
        for (_, ended, _), (started, _, _) in itertools.pairwise(runs):
            assert started >= ended, f"subscriber {subscriber} ran twice at once: {runs}"
    workers_per_subscriber = [{worker for *_, worker in runs} for runs in spans.values()]
    # The test means something only if both processes took jobs of the same subscriber.
    assert any(len(workers) == 2 for workers in workers_per_subscriber), spans


async def test_a_failed_job_releases_its_subscriber(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    async def refuse_first(info: JobInfo) -> None:
        if info.name == ADD_USER:
            raise PermanentError("invalid value for argument profile")

    recorder = Recorder(hold=True)
    async with running(
        make_worker(dict.fromkeys([ADD_USER, RETRY], recorder.handler(refuse_first)))
    ):
        await queue.push_subscriber(ADD_USER, 1)
        await wait_for(lambda: len(recorder.runs) == 1)
        await queue.push_subscriber(RETRY, 1)  # parked behind the running job
        recorder.gate.set()
        await wait_for(lambda: has_jobs(queue, "completed"))
        # After the final failure and the parked run, a new push starts a new job.
        await queue.push_subscriber(RETRY, 1)
        await wait_for(lambda: has_jobs(queue, "completed", 2))

    assert [run.info.name for run in recorder.runs] == [ADD_USER, RETRY, RETRY]
    assert (await queue.counts())["failed"] == 1
