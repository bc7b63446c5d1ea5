"""/metrics tells the sync story in numbers."""

from __future__ import annotations

import re
import uuid

import httpx

from mikrosync.app import create_app
from mikrosync.settings import Settings
from tests.plugins.sync import World

SERIES = [
    "mikrosync_queue_jobs",
    "mikrosync_queue_up",
    "mikrosync_jobs_total",
    "mikrosync_sync_latency_seconds_bucket",
    "mikrosync_sync_latency_seconds_count",
    "mikrosync_routers",
    "mikrosync_drift_found_total",
    "mikrosync_drift_fixed_total",
    "mikrosync_owed_suspensions",
    "mikrosync_subscribers",
]


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in metrics"
    return float(match[1])


async def test_metrics_expose_every_series(world: World) -> None:
    created = await world.subscriber(username="metered")
    await world.converge(created["id"])
    suspended = await world.subscriber(username="owing")
    await world.call("POST", f"/subscribers/{suspended['id']}/suspend")
    response = await world.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for series in SERIES:
        assert series in text, series
    assert _value(text, 'mikrosync_jobs_total{job="addUser",outcome="succeeded"}') >= 1
    assert _value(text, 'mikrosync_sync_latency_seconds_bucket{le="+Inf"}') >= 1
    assert _value(text, "mikrosync_owed_suspensions") >= 1
    assert _value(text, 'mikrosync_routers{state="online"}') >= 1
    assert _value(text, "mikrosync_queue_up") == 1
    assert "router-pw" not in text and "svc-pw" not in text


async def test_metrics_token_is_enforced(settings: Settings) -> None:
    guarded = settings.model_copy(
        update={"metrics_token": "scrape-me-please", "queue_prefix": uuid.uuid4().hex}
    )
    app = create_app(guarded)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/metrics")).status_code == 401
        ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert ok.status_code == 200
    await app.state.runtime.close()
