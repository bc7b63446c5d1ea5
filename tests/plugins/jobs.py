"""Fixtures for the queue layer (tests/jobs): real Redis, a bullmq prefix per test, workers
in and out of process.

Each test gets its own bullmq `prefix`, so tests never see each other's jobs on the shared
Redis, and its keys are deleted afterwards (never FLUSHALL: other suites use the same server).
Workers use short lock, stalled and backoff settings so recovery and retries take a second or
two instead of the production tens of seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from mikrosync.jobs import JobInfo, JobQueue, SyncWorker, redis_connection
from mikrosync.jobs.names import SYNC_QUEUE
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, TEST_REDIS_URL

# The probe worker script and the embedded-Redis client live beside the queue tests.
HERE = Path(__file__).resolve().parents[1] / "jobs"
# Short enough that a killed worker's job is recovered in about 1.5 s.
TEST_LOCK_MS = 1000
TEST_STALLED_MS = 500


@pytest.fixture(scope="session")
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client, to look at bullmq's keys."""
    client = redis_connection(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(raw: redis.asyncio.Redis) -> AsyncIterator[str]:
    """A bullmq prefix of this test's own; its keys are deleted afterwards."""
    name = f"mstest-{uuid.uuid4().hex[:12]}"
    yield name
    await delete_prefix(raw, name)


async def delete_prefix(client: redis.asyncio.Redis, name: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{name}:*", count=1000)]
    for start in range(0, len(keys), 500):
        await client.delete(*keys[start : start + 500])


def queue_key(prefix: str, suffix: str) -> str:
    return f"{prefix}:{SYNC_QUEUE}:{suffix}"


@pytest.fixture
async def queue(redis_url: str, prefix: str) -> AsyncIterator[JobQueue]:
    jobs = JobQueue(redis_url, prefix=prefix, timeout_s=TEST_PUSH_TIMEOUT_S)
    yield jobs
    await jobs.close()


@dataclass
class Run:
    info: JobInfo
    started: float
    ended: float | None = None


@dataclass
class Recorder:
    """Handler factory that records every run (with monotonic times) and can hold runs."""

    runs: list[Run] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    hold: bool = False

    def __post_init__(self) -> None:
        if not self.hold:
            self.gate.set()

    def handler(
        self, action: Callable[[JobInfo], Awaitable[object]] | None = None
    ) -> Callable[[JobInfo], Awaitable[object]]:
        async def handle(info: JobInfo) -> object:
            run = Run(info, time.monotonic())
            self.runs.append(run)
            try:
                await self.gate.wait()
                return None if action is None else await action(info)
            finally:
                run.ended = time.monotonic()

        return handle

    def named(self, name: str) -> list[Run]:
        return [run for run in self.runs if run.info.name == name]


async def wait_for(
    predicate: Callable[[], Awaitable[bool] | bool], timeout: float = 5.0, step: float = 0.02
) -> None:
    """Poll until `predicate` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


async def has_jobs(queue: JobQueue, state: str, count: int = 1) -> bool:
    """True once at least `count` jobs are in `state` (a `wait_for` predicate)."""
    return (await queue.counts())[state] >= count


WorkerFactory = Callable[..., SyncWorker]


@pytest.fixture
def make_worker(redis_url: str, prefix: str) -> WorkerFactory:
    """A SyncWorker on this test's prefix with fast test settings (overridable)."""

    def make(handlers: dict[str, Any], **overrides: Any) -> SyncWorker:
        url = overrides.pop("redis_url", redis_url)
        settings: dict[str, Any] = {
            "prefix": prefix,
            "concurrency": 4,
            "backoff_base_ms": 100,
            "backoff_cap_ms": 400,
            "lock_duration_ms": TEST_LOCK_MS,
            "stalled_interval_ms": TEST_STALLED_MS,
            "shutdown_timeout_s": 5.0,
        }
        settings.update(overrides)
        return SyncWorker(url, handlers, **settings)

    return make


@contextlib.asynccontextmanager
async def running(worker: SyncWorker) -> AsyncIterator[asyncio.Event]:
    """Run `worker` on this loop for the block; stop it gracefully at the end."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


@dataclass
class Probe:
    tag: str
    process: asyncio.subprocess.Process


SpawnProbe = Callable[..., Awaitable[Probe]]


@pytest.fixture
async def spawn_probe(redis_url: str, prefix: str) -> AsyncIterator[SpawnProbe]:
    """Start `probe_worker.py` processes; any still running at the end get SIGTERM."""
    probes: list[Probe] = []

    async def spawn(tag: str, *extra: str) -> Probe:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "probe_worker.py"), redis_url, prefix, tag, *extra
        )
        probe = Probe(tag, process)
        probes.append(probe)
        return probe

    yield spawn
    for probe in probes:
        await stop_process(probe.process)


async def stop_process(process: asyncio.subprocess.Process, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit code."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


async def probe_events(client: redis.asyncio.Redis, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in await client.lrange(f"{prefix}:probe:events", 0, -1)]


async def wait_ready(client: redis.asyncio.Redis, prefix: str, count: int) -> None:
    async def ready() -> bool:
        events = await probe_events(client, prefix)
        return sum(event["event"] == "ready" for event in events) >= count

    await wait_for(ready, timeout=15)


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"
