"""Issue 14, the queue and metrics side, with real `mikrosync worker` processes:

- counters on /metrics only rise (deletes, a worker restart), count `removeUser`, are the
  same single total on every `serve` replica, and pass `promtool check metrics` (defect 1);
- a job whose data is not what the job takes fails at once, unretried, saying what was
  expected (defect 4);
- a queue paused from outside (Node BullMQ, as Bull Board does it) says so on the API, the
  dashboard and /metrics (defect 6).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mikrosync.app import create_app
from mikrosync.jobs.names import ADD_USER, SYNC_QUEUE
from mikrosync.jobs.producer import JobQueue
from mikrosync.settings import Settings
from tests.jobs.node_bullmq import node_bullmq
from tests.plugins.e2e import Site, WorkerProcess, eventually

pytestmark = pytest.mark.regression


def counters(text: str) -> dict[str, float]:
    """Every counter sample (`_total`, histogram `_bucket`/`_count`/`_sum`), parsed strictly."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.type not in ("counter", "histogram"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def assert_never_lower(before: dict[str, float], after: dict[str, float]) -> None:
    for series, value in before.items():
        assert series in after, f"{series} disappeared"
        assert after[series] >= value, f"{series} went down: {value} -> {after[series]}"


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (scripts/ensure-services.sh installs it)"
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    problems = (checked.stdout + checked.stderr).decode()
    assert checked.returncode == 0 and not problems.strip(), problems


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def sample(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


async def scrape_when(client: httpx.AsyncClient, series: str, at_least: float) -> str:
    """/metrics once `series` has reached `at_least`. A run adds its counts to Redis just after
    the commit that shows the row synced (sync/counting.py), so a scrape at once may come a
    moment early: on a loaded machine, the suspend's `disconnectUser` was not there yet."""
    text = ""

    async def counted() -> bool:
        nonlocal text
        text = await scrape(client)
        return sample(text, series) >= at_least

    await eventually(counted, what=f"{series} >= {at_least}")
    return text


async def test_counters_only_rise_across_deletes_and_a_worker_restart(
    site: Site,
    e2e_settings: Settings,
    workers: Callable[..., WorkerProcess],
) -> None:
    worker = workers()
    made = [await site.subscriber(username=f"count{i}", password="count-pw") for i in range(3)]
    for row in made:
        await site.synced(row["id"])
    added = 'mikrosync_jobs_total{job="addUser",outcome="succeeded"}'
    first = await scrape_when(site.client, added, 3)
    promtool_check(first)
    before = counters(first)

    for row in made[:2]:
        await site.call("DELETE", f"/subscribers/{row['id']}")
    for row in made[:2]:

        async def gone(subscriber_id: int = row["id"]) -> bool:
            return (await site.status(subscriber_id)).get("gone", False)

        await eventually(gone, what="row removed")
    removed = 'mikrosync_jobs_total{job="removeUser",outcome="succeeded"}'
    second = await scrape_when(site.client, removed, sample(first, removed) + 2)
    promtool_check(second)
    assert_never_lower(before, counters(second))
    assert sample(second, added) == sample(first, added)  # deleting lowered nothing

    # A worker restart: the counts live in Redis, not in the process.
    assert worker.stop() == 0
    workers()
    await site.call("POST", f"/subscribers/{made[2]['id']}/suspend")
    await site.synced(made[2]["id"])
    suspended = 'mikrosync_jobs_total{job="disconnectUser",outcome="succeeded"}'
    third = await scrape_when(site.client, suspended, 1)
    promtool_check(third)
    assert_never_lower(counters(second), counters(third))

    # Another `serve` replica exposes the same single total, not a second copy.
    replica = create_app(e2e_settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=replica), base_url="http://replica"
    ) as other:
        assert counters(await scrape(other)) == counters(await scrape(site.client))
    await replica.state.runtime.close()


async def test_a_job_with_bad_data_fails_at_once_with_the_expected_shape(
    site: Site, e2e_settings: Settings, workers: Callable[..., WorkerProcess]
) -> None:
    workers()
    queue = JobQueue(e2e_settings.redis_url or "", prefix=e2e_settings.queue_prefix, attempts=8)
    try:
        job_id = await queue.push(ADD_USER, {"subscriberId": 4})
        failed: list[dict[str, object]] = []

        async def has_failed() -> bool:
            failed[:] = [job for job in await queue.failed_jobs(100) if job["id"] == job_id]
            return bool(failed)

        await eventually(has_failed, what="the bad job failed")
        [job] = failed
        assert job["attempts_made"] == 1  # not retried, although pushed with 8 attempts
        reason = str(job["failed_reason"])
        assert 'expected data {"subscriber_id": <positive int>}' in reason, reason
        assert "subscriberId" in reason  # what it got (keys only)
    finally:
        await queue.close()


async def test_a_queue_paused_from_bull_board_says_so_everywhere(
    site: Site, e2e_settings: Settings, workers: Callable[..., WorkerProcess]
) -> None:
    redis_url = e2e_settings.redis_url or ""
    prefix = e2e_settings.queue_prefix
    workers()
    assert (await node_bullmq(redis_url, prefix, SYNC_QUEUE, "pause"))["paused"] is True
    try:
        held = [await site.subscriber(username=f"held{i}", password="held-pw") for i in range(3)]
        status = await site.call("GET", "/queue")
        assert status["paused"] is True
        assert status["held"] >= 3
        text = await scrape(site.client)
        assert sample(text, "mikrosync_queue_paused") == 1
        assert sample(text, "mikrosync_queue_held_jobs") >= 3
        # No worker takes them while paused (the dashboard: tests/web/test_queue_paused.py).
        statuses = [(await site.status(row["id"]))["sync_status"] for row in held]
        assert statuses == ["pending"] * 3
    finally:
        assert (await node_bullmq(redis_url, prefix, SYNC_QUEUE, "resume"))["paused"] is False
    # Node's resume renames its `paused` list over `wait`, dropping the jobs pushed during the
    # pause; the sweeper releases their deduplication keys and pushes again (docs/jobs.md).
    for row in held:
        await site.synced(row["id"])
    status = await site.call("GET", "/queue")
    assert status["paused"] is False and status["held"] == 0
    text = await scrape(site.client)
    assert sample(text, "mikrosync_queue_paused") == 0
