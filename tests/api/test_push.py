"""Controllers push the job hint after commit; a Redis outage never fails the request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from mikrosync.app import create_app
from mikrosync.jobs.producer import JobQueue
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber
from tests.helpers import make_router, make_subscriber
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, Staff


async def test_create_pushes_an_add_user_job(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime, settings: Settings
) -> None:
    created = await make_subscriber(client, owner)
    queue = JobQueue(
        settings.redis_url or "", prefix=settings.queue_prefix, timeout_s=TEST_PUSH_TIMEOUT_S
    )
    try:
        waiting = await queue._call("getWaiting", 0, -1)
    finally:
        await queue.close()
    assert any(
        job.name == "addUser" and job.data == {"subscriber_id": created["id"]} for job in waiting
    )
    status = (await client.get("/api/v1/queue", headers=owner.headers)).json()
    assert status["available"] is True and status["counts"]["waiting"] >= 1


@pytest.fixture
async def redis_down_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    broken = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "queue_prefix": uuid.uuid4().hex}
    )
    app = create_app(broken)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http
    await app.state.runtime.close()


async def test_redis_down_still_commits_the_change(
    redis_down_client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await make_subscriber(redis_down_client, owner)
    assert created["sync_status"] == "pending" and created["desired_version"] == 1
    suspended = await redis_down_client.post(
        f"/api/v1/subscribers/{created['id']}/suspend", headers=owner.headers
    )
    assert suspended.status_code == 200 and suspended.json()["is_suspended"] is True
    status = (await redis_down_client.get("/api/v1/queue", headers=owner.headers)).json()
    assert status["available"] is False and status["error"]


async def test_bulk_retry_requeues_errors_of_one_router(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    router = await make_router(client, owner)
    failed = [await make_subscriber(client, owner, router_id=router["id"]) for _ in range(3)]
    other = await make_subscriber(client, owner)
    async with runtime.sessionmaker() as session:
        for row in [*failed, other]:
            subscriber = await session.get(Subscriber, row["id"])
            assert subscriber is not None
            subscriber.sync_status, subscriber.sync_error_message = "error", "no such profile"
        await session.commit()
    response = await client.post(
        "/api/v1/subscribers/retry", json={"router_id": router["id"]}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    assert sorted(response.json()["subscriber_ids"]) == sorted(r["id"] for r in failed)
    for row in failed:
        fresh = (await client.get(f"/api/v1/subscribers/{row['id']}", headers=owner.headers)).json()
        assert fresh["sync_status"] == "pending" and fresh["sync_error_message"] is None
    untouched = (
        await client.get(f"/api/v1/subscribers/{other['id']}", headers=owner.headers)
    ).json()
    assert untouched["sync_status"] == "error"
