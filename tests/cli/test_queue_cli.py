"""`mikrosync queue status|pause|resume` (issue 14, defect 6): the console script against the
machine's Redis, on a queue prefix of its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mikrosync.jobs.names import ADD_USER
from mikrosync.jobs.producer import JobQueue
from tests.plugins.core import TEST_REDIS_URL, TEST_SECRET_KEY, delete_prefix


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"qcli-{uuid.uuid4().hex[:10]}"
    yield name
    await delete_prefix(name)


def _cli(tmp_path: Path, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIKROSYNC_")}
    env |= {
        "MIKROSYNC_DATA_DIR": str(tmp_path / "data"),
        "MIKROSYNC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "MIKROSYNC_REDIS_URL": TEST_REDIS_URL,
        "MIKROSYNC_QUEUE_PREFIX": prefix,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "mikrosync", "queue", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _run(tmp_path: Path, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(_cli, tmp_path, prefix, *args)


@pytest.mark.regression
async def test_queue_status_pause_and_resume(tmp_path: Path, prefix: str) -> None:
    queue = JobQueue(TEST_REDIS_URL, prefix=prefix)
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
    env_prefix = f"qcli-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIKROSYNC_")}
    env |= {
        "MIKROSYNC_DATA_DIR": str(tmp_path / "data"),
        "MIKROSYNC_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "MIKROSYNC_REDIS_URL": "redis://127.0.0.1:1/0",
        "MIKROSYNC_QUEUE_PREFIX": env_prefix,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mikrosync", "queue", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Redis is unavailable" in result.stderr
