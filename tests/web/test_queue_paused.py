"""A paused queue says so on the dashboard, the API and /metrics (issue 14, defect 6)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from mikrosync.app import create_app
from mikrosync.jobs.producer import JobQueue
from mikrosync.settings import Settings
from tests.helpers import make_subscriber
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, Staff, TenantFactory, delete_prefix
from tests.plugins.web import WebClient


@pytest.fixture
async def own_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app on a queue prefix of its own (pausing it touches no other test's queue)."""
    prefix = f"paused-{uuid.uuid4().hex[:10]}"
    app = create_app(settings.model_copy(update={"queue_prefix": prefix}))
    yield app
    await app.state.runtime.close()
    await delete_prefix(prefix)


def _sample(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} missing"
    return float(match[1])


@pytest.mark.regression
async def test_paused_queue_is_shown_as_paused_with_its_held_jobs(
    own_app: FastAPI, settings: Settings
) -> None:
    runtime = own_app.state.runtime
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=own_app), base_url="http://test"
    ) as http:
        factory = TenantFactory(runtime=runtime, client=http)
        owner: Staff = await factory.staff(await factory.tenant())
        web = WebClient(http=http, staff=owner)
        await web.login()

        running = (await http.get("/api/v1/queue", headers=owner.headers)).json()
        assert running["paused"] is False and running["held"] == 0
        assert 'id="queue-paused"' not in (await web.get("/")).text

        queue = JobQueue(
            settings.redis_url or "",
            prefix=runtime.settings.queue_prefix,
            timeout_s=TEST_PUSH_TIMEOUT_S,
        )
        try:
            assert await queue.pause() is True
            for _ in range(3):
                await make_subscriber(http, owner)
            status = (await http.get("/api/v1/queue", headers=owner.headers)).json()
            counts = status["counts"]
            # Each subscriber's addUser (and its package's syncPackage) waits, held.
            held = counts["waiting"] + counts["prioritized"] + counts["paused"]
            assert status["paused"] is True and status["held"] == held >= 3, status

            page = (await web.get("/")).text
            banner = re.search(r'<p[^>]*id="queue-paused"[^>]*>(.*?)</p>', page, re.DOTALL)
            assert banner, "no paused banner on the dashboard"
            assert "Paused" in banner[1] and f"{held} held" in banner[1]

            metrics = (await http.get("/metrics")).text
            assert _sample(metrics, "mikrosync_queue_paused") == 1
            assert _sample(metrics, "mikrosync_queue_held_jobs") == held

            assert await queue.resume() is True
            status = (await http.get("/api/v1/queue", headers=owner.headers)).json()
            assert status["paused"] is False and status["held"] == 0
            assert _sample((await http.get("/metrics")).text, "mikrosync_queue_paused") == 0
        finally:
            await queue.resume()
            await queue.close()
