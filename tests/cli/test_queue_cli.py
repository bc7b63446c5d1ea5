"""`mikrosync queue status|pause|resume` (issue 14, defect 6): the console script's app, run in
this process, against the machine's Redis, on a queue prefix of its own."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mikrosync.jobs.names import ADD_USER
from mikrosync.jobs.producer import JobQueue
from tests.plugins.cli import run_in_process
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, TEST_REDIS_URL, TEST_SECRET_KEY, delete_prefix

# Tier (tests/plugins/tiers.py): the machine's Redis.
pytestmark = pytest.mark.db


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"qcli-{uuid.uuid4().hex[:10]}"
    yield name
    await delete_prefix(name)


def _env(tmp_path: Path, prefix: str, redis_url: str = TEST_REDIS_URL) -> dict[str, str]:
    return {
        "MIKROSYNC_DATA_DIR": str(tmp_path / "data"),
        "MIKROSYNC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "MIKROSYNC_REDIS_URL": redis_url,
        "MIKROSYNC_QUEUE_PREFIX": prefix,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
    }


async def _run(tmp_path: Path, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`mikrosync queue ARGS`, in this process (the commands run their own event loop)."""
    return await asyncio.to_thread(
        run_in_process, tmp_path, "queue", *args, env=_env(tmp_path, prefix)
    )


@pytest.mark.regression
async def test_queue_status_pause_and_resume(tmp_path: Path, prefix: str) -> None:
    queue = JobQueue(TEST_REDIS_URL, prefix=prefix, timeout_s=TEST_PUSH_TIMEOUT_S)
    try:
        for subscriber_id in (1, 2):
            await queue.push_subscriber(ADD_USER, subscriber_id)

        status = await _run(tmp_path, prefix, "status")
        assert status.returncode == 0, status.stderr
        assert "running" in status.stdout and "PAUSED" not in status.stdout
        assert any(line.split() == ["waiting", "2"] for line in status.stdout.splitlines())

        paused = await _run(tmp_path, prefix, "pause")
        assert paused.returncode == 0, paused.stderr
        assert "paused queue mikrotik-sync" in paused.stdout and "2 job(s) held" in paused.stdout
        assert await queue.is_paused() is True
        again = await _run(tmp_path, prefix, "pause")
        assert "already paused" in again.stdout

        status = await _run(tmp_path, prefix, "status")
        assert "PAUSED (2 job(s) held)" in status.stdout

        resumed = await _run(tmp_path, prefix, "resume")
        assert resumed.returncode == 0, resumed.stderr
        assert "resumed queue mikrotik-sync" in resumed.stdout
        assert await queue.is_paused() is False
        assert "was not paused" in (await _run(tmp_path, prefix, "resume")).stdout
    finally:
        await queue.close()


async def test_queue_status_without_redis_exits_1(tmp_path: Path) -> None:
    env = _env(tmp_path, f"qcli-{uuid.uuid4().hex[:10]}", redis_url="redis://127.0.0.1:1/0")
    result = await asyncio.to_thread(run_in_process, tmp_path, "queue", "status", env=env)
    assert result.returncode == 1
    assert "Redis is unavailable" in result.stderr
