"""The embedded Redis: shared by every process of one data directory; bullmq runs on it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mikrosync.jobs import EmbeddedRedis, JobQueue, redis_connection, resolve_redis_url
from mikrosync.jobs.names import ADD_USER
from tests.plugins.jobs import HERE, Recorder, WorkerFactory, running, wait_for

# Tier (tests/plugins/tiers.py): runs client processes of the embedded Redis.
pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.fixture
def embedded(tmp_data_dir: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_data_dir)
    server.start()
    yield server
    server.stop()


class OtherProcess:
    """`embedded_client.py` on the same data directory; it stays until `leave()`."""

    def __init__(self, process: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        self.process = process
        self.info = info

    async def leave(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert await asyncio.wait_for(self.process.wait(), 10) == 0


@pytest.fixture
async def other_process(tmp_data_dir: Path) -> AsyncIterator[Any]:
    started: list[OtherProcess] = []

    async def spawn(*extra: str) -> OtherProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "embedded_client.py"),
            str(tmp_data_dir),
            *extra,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        other = OtherProcess(process, json.loads(line))
        started.append(other)
        return other

    yield spawn
    for other in started:
        if other.process.returncode is None:
            await other.leave()


def test_a_configured_url_is_used_as_is(tmp_data_dir: Path) -> None:
    assert resolve_redis_url("redis://example:6379/2", tmp_data_dir) == "redis://example:6379/2"
    assert not tmp_data_dir.exists()


# The embedded server is fresh for each test, so these use bullmq's default prefix, as the
# product does.


async def test_bullmq_runs_on_the_embedded_server(
    embedded: EmbeddedRedis, make_worker: WorkerFactory, tmp_data_dir: Path
) -> None:
    assert embedded.started_here
    assert embedded.url.startswith("unix://")
    recorder = Recorder()
    jobs = JobQueue(embedded.url)
    try:
        async with running(
            make_worker({ADD_USER: recorder.handler()}, redis_url=embedded.url, prefix="bull")
        ):
            await jobs.push_subscriber(ADD_USER, 1)
            await wait_for(lambda: bool(recorder.runs))
    finally:
        await jobs.close()
    assert recorder.runs[0].info.data == {"subscriber_id": 1}


async def test_a_second_process_reaches_the_same_server(
    embedded: EmbeddedRedis, other_process: Any, make_worker: WorkerFactory
) -> None:
    recorder = Recorder()
    async with running(
        make_worker({ADD_USER: recorder.handler()}, redis_url=embedded.url, prefix="bull")
    ):
        other = await other_process("--push-subscriber", "7")
        await wait_for(lambda: bool(recorder.runs))
    assert other.info == {"url": embedded.url, "pid": embedded.pid, "started_here": False}
    assert recorder.runs[0].info.data == {"subscriber_id": 7}
    await other.leave()
    assert alive(embedded.pid)  # we are still using it


async def test_the_server_outlives_its_starter_but_not_its_last_user(
    tmp_data_dir: Path, other_process: Any
) -> None:
    starter = await other_process()
    assert starter.info["started_here"]
    pid = starter.info["pid"]
    socket_dir = Path(starter.info["url"].removeprefix("unix://")).parent

    joined = EmbeddedRedis(tmp_data_dir)
    joined.start()
    assert (joined.started_here, joined.pid) == (False, pid)
    client = redis_connection(joined.url)
    await client.set("kept", "yes")
    await starter.leave()
    assert alive(pid)
    assert await client.get("kept") == "yes"
    await client.aclose()

    joined.stop()  # the last user: the server saves its RDB file and exits
    await wait_for(lambda: not alive(pid))
    assert (tmp_data_dir / "redis.db").exists()
    assert not socket_dir.exists()

    again = EmbeddedRedis(tmp_data_dir)
    again.start()
    try:
        assert again.started_here and again.pid != pid
        client = redis_connection(again.url)
        assert await client.get("kept") == "yes"
        await client.aclose()
    finally:
        again.stop()


async def test_processes_starting_together_share_one_server(other_process: Any) -> None:
    first, second = await asyncio.gather(other_process(), other_process())
    assert first.info["pid"] == second.info["pid"]
    assert sorted([first.info["started_here"], second.info["started_here"]]) == [False, True]


def test_resolve_starts_the_embedded_server_once_per_process(tmp_data_dir: Path) -> None:
    from mikrosync.jobs.embedded import embedded_redis

    url = resolve_redis_url(None, tmp_data_dir)
    try:
        assert resolve_redis_url(None, tmp_data_dir) == url
        assert os.path.exists(url.removeprefix("unix://"))
    finally:
        embedded_redis(tmp_data_dir).stop()
