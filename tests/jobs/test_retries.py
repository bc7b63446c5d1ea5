"""Retries: capped exponential backoff, PermanentError as UnrecoverableError, attempt numbers."""

from __future__ import annotations

import itertools

from mikrosync.jobs import JobInfo, JobQueue
from mikrosync.jobs.names import ADD_USER, UPDATE_USER
from mikrosync.sync.errors import PermanentError, TemporaryError
from tests.plugins.jobs import Recorder, WorkerFactory, has_jobs, running, wait_for


async def always_fail(_info: JobInfo) -> None:
    raise TemporaryError("router unreachable")


async def test_retries_back_off_exponentially_up_to_the_cap(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    recorder = Recorder()
    worker = make_worker(
        {ADD_USER: recorder.handler(always_fail)}, backoff_base_ms=150, backoff_cap_ms=300
    )
    async with running(worker):
        await queue.push_subscriber(ADD_USER, 1)
        await wait_for(lambda: has_jobs(queue, "failed"), timeout=10)

    starts = [run.started for run in recorder.runs]
    gaps_ms = [(later - earlier) * 1000 for earlier, later in itertools.pairwise(starts)]
    assert len(starts) == 8  # the default attempts
    expected = [150, 300, 300, 300, 300, 300, 300]
    for gap, want in zip(gaps_ms, expected, strict=True):
        assert want - 20 <= gap <= want + 400, (gaps_ms, expected)
    [failed] = await queue.failed_jobs()
    assert failed["failed_reason"] == "router unreachable"
    assert failed["attempts_made"] == 8


async def test_attempt_numbers_across_retries(queue: JobQueue, make_worker: WorkerFactory) -> None:
    async def fail_twice(info: JobInfo) -> str:
        if info.attempt < 3:
            raise RuntimeError(f"attempt {info.attempt} failed")
        return "ok"

    recorder = Recorder()
    worker = make_worker({ADD_USER: recorder.handler(fail_twice)}, attempts=4)
    async with running(worker):
        await queue.push_subscriber(ADD_USER, 1)
        await wait_for(lambda: len(recorder.runs) == 3 and recorder.runs[-1].ended is not None)
        await wait_for(lambda: has_jobs(queue, "completed"))

    seen = [(r.info.attempt, r.info.max_attempts, r.info.is_last_attempt) for r in recorder.runs]
    assert seen == [(1, 4, False), (2, 4, False), (3, 4, False)]
    assert len({run.info.id for run in recorder.runs}) == 1


async def test_the_lower_of_worker_and_job_attempts_wins(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    recorder = Recorder()
    worker = make_worker({ADD_USER: recorder.handler(always_fail)}, attempts=2)
    async with running(worker):
        await queue.push_subscriber(ADD_USER, 1)  # added with 8 attempts
        await wait_for(lambda: has_jobs(queue, "failed"))

    assert [(r.info.attempt, r.info.is_last_attempt) for r in recorder.runs] == [
        (1, False),
        (2, True),
    ]
    [failed] = await queue.failed_jobs()
    assert failed["failed_reason"] == "router unreachable"


async def test_a_permanent_error_is_not_retried(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    words = "input does not match any value of profile"

    async def refuse(_info: JobInfo) -> None:
        raise PermanentError(words)

    recorder = Recorder()
    async with running(make_worker({UPDATE_USER: recorder.handler(refuse)})):
        await queue.push_subscriber(UPDATE_USER, 3)
        await wait_for(lambda: has_jobs(queue, "failed"))

    assert len(recorder.runs) == 1
    [failed] = await queue.failed_jobs()
    assert failed["failed_reason"] == words
    assert failed["attempts_made"] == 1
    assert failed["data"] == {"subscriber_id": 3}


async def test_an_unknown_job_name_fails_at_once(
    queue: JobQueue, make_worker: WorkerFactory
) -> None:
    async with running(make_worker({ADD_USER: Recorder().handler()})):
        await queue.push("noSuchJob", {"x": 1})
        await wait_for(lambda: has_jobs(queue, "failed"))

    [failed] = await queue.failed_jobs()
    assert failed["failed_reason"] == "unknown job 'noSuchJob'"
    assert failed["attempts_made"] == 1
