"""JobQueue: what a push stores, bulk pushes, counts, and failing fast without Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from mikrosync.jobs import JobQueue, QueueUnavailable
from mikrosync.jobs.names import ADD_USER, DISCONNECT_USER, RECONCILE_ROUTER, UPDATE_USER
from tests.plugins.jobs import queue_key


async def test_push_subscriber_stores_only_the_id(
    queue: JobQueue, raw: redis.asyncio.Redis, prefix: str
) -> None:
    job_id = await queue.push_subscriber(ADD_USER, 5)
    assert job_id is not None
    job = await raw.hgetall(queue_key(prefix, job_id))
    assert job["name"] == ADD_USER
    assert json.loads(job["data"]) == {"subscriber_id": 5}
    assert json.loads(job["opts"])["de"] == {"id": "subscriber-5", "keepLastIfActive": True}
    assert (await queue.counts())["waiting"] == 1


async def test_a_waiting_subscriber_job_absorbs_later_pushes(queue: JobQueue) -> None:
    first = await queue.push_subscriber(ADD_USER, 1)
    assert await queue.push_subscriber(UPDATE_USER, 1) == first
    other = await queue.push_subscriber(UPDATE_USER, 2)
    assert other != first
    assert (await queue.counts())["waiting"] == 2


async def test_push_subscriber_refuses_other_job_names(queue: JobQueue) -> None:
    with pytest.raises(ValueError):
        await queue.push_subscriber(RECONCILE_ROUTER, 1)


async def test_push_subscribers_in_chunks_with_priority(queue: JobQueue) -> None:
    jobs = [(DISCONNECT_USER, n) for n in range(1, 8)] + [(UPDATE_USER, 3)]
    assert await queue.push_subscribers(jobs, priority=1, chunk=3) == len(jobs)
    counts = await queue.counts()
    assert counts["prioritized"] == 7  # subscriber 3's second push was deduplicated


async def test_generic_push_with_job_id_delay_and_dedup(queue: JobQueue) -> None:
    once = await queue.push(RECONCILE_ROUTER, {"router_id": 9}, job_id="reconcile-9-a")
    assert once == "reconcile-9-a"
    assert await queue.push(RECONCILE_ROUTER, {"router_id": 9}, job_id="reconcile-9-a") == once
    await queue.push(RECONCILE_ROUTER, {"router_id": 9}, delay_ms=60_000)
    first = await queue.push(RECONCILE_ROUTER, {"router_id": 8}, dedup_id="router-8")
    assert await queue.push(RECONCILE_ROUTER, {"router_id": 8}, dedup_id="router-8") == first
    counts = await queue.counts()
    assert (counts["waiting"], counts["delayed"]) == (2, 1)


async def test_push_to_an_unreachable_redis_fails_fast() -> None:
    unreachable = JobQueue("redis://127.0.0.1:1")
    started = time.monotonic()
    try:
        with pytest.raises(QueueUnavailable):
            await unreachable.push_subscriber(ADD_USER, 1)
        with pytest.raises(QueueUnavailable):
            await unreachable.counts()
    finally:
        await unreachable.close()
    assert time.monotonic() - started < 2.5


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_push_to_a_silent_redis_times_out(silent_server: int) -> None:
    hung = JobQueue(f"redis://127.0.0.1:{silent_server}", timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(QueueUnavailable):
            await hung.push_subscriber(ADD_USER, 1)
    finally:
        await hung.close()
    assert time.monotonic() - started < 1.5
