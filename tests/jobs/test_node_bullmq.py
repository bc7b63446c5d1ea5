"""Node BullMQ (what Bull Board runs on) sees our Python workers (issue 14, defect 5)."""

from __future__ import annotations

import pytest
import redis.asyncio

from mikrosync.jobs.names import SYNC_QUEUE
from tests.jobs.node_bullmq import node_bullmq
from tests.plugins.jobs import SpawnProbe, wait_for, wait_ready


@pytest.mark.regression
async def test_node_bullmq_get_workers_lists_each_running_python_worker(
    redis_url: str, prefix: str, spawn_probe: SpawnProbe, raw: redis.asyncio.Redis
) -> None:
    """Before the fix the Python port named its connections `<prefix>:mikrotik-sync:w:...`;
    Node's getWorkers() looks for `<prefix>:<base64 queue name>:w:...` and listed none."""
    assert (await node_bullmq(redis_url, prefix, SYNC_QUEUE, "workers"))["workers"] == []
    first = await spawn_probe("A")
    second = await spawn_probe("B")
    await wait_ready(raw, prefix, 2)

    seen: list[dict[str, str]] = []

    async def both_listed() -> bool:
        seen[:] = (await node_bullmq(redis_url, prefix, SYNC_QUEUE, "workers"))["workers"]
        pids = {entry["rawname"].rsplit(":", 1)[-1] for entry in seen}
        return {str(first.process.pid), str(second.process.pid)} <= pids

    await wait_for(both_listed, timeout=30, step=0.5)
    assert {entry["name"] for entry in seen} == {SYNC_QUEUE}
    assert all(entry["rawname"].startswith(f"{prefix}:bWlrcm90aWstc3luYw==:w:") for entry in seen)

    first.process.terminate()
    await first.process.wait()

    async def only_second() -> bool:
        listed = (await node_bullmq(redis_url, prefix, SYNC_QUEUE, "workers"))["workers"]
        pids = {entry["rawname"].rsplit(":", 1)[-1] for entry in listed}
        return str(first.process.pid) not in pids and str(second.process.pid) in pids

    await wait_for(only_second, timeout=30, step=0.5)
