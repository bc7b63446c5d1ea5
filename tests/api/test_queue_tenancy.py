"""A failed job is shown only to the tenant it belongs to (issue 14, defect 2).

On SQLite a deleted subscriber's id went to the next subscriber created, in any tenant, so a
failed job `{"subscriber_id": N}` of the deleted one showed in another tenant's queue view.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from mikrosync.app import create_app
from mikrosync.jobs import JobInfo, SyncWorker
from mikrosync.jobs.names import ADD_USER, RECONCILE_ROUTER
from mikrosync.jobs.producer import JobQueue
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.errors import PermanentError
from tests.helpers import make_router, make_subscriber
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, TenantFactory, delete_prefix
from tests.plugins.jobs import running, wait_for


@pytest.fixture
async def own_app(settings: Settings) -> AsyncIterator[FastAPI]:
    prefix = f"tenancy-{uuid.uuid4().hex[:10]}"
    app = create_app(settings.model_copy(update={"queue_prefix": prefix}))
    yield app
    await app.state.runtime.close()
    await delete_prefix(prefix)


async def _refuse(job: JobInfo) -> None:
    raise PermanentError(f"router refused {job.name}")


@pytest.mark.regression
async def test_failed_jobs_are_shown_to_their_own_tenant_only(
    own_app: FastAPI, settings: Settings
) -> None:
    runtime = own_app.state.runtime
    prefix = runtime.settings.queue_prefix
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=own_app), base_url="http://test"
    ) as http:
        factory = TenantFactory(runtime=runtime, client=http)
        alice = await factory.staff(await factory.tenant())
        bob = await factory.staff(await factory.tenant())
        router = await make_router(http, alice)
        doomed = await make_subscriber(http, alice, router_id=router["id"])

        queue = JobQueue(settings.redis_url or "", prefix=prefix, timeout_s=TEST_PUSH_TIMEOUT_S)
        worker = SyncWorker(
            settings.redis_url or "",
            {ADD_USER: _refuse, RECONCILE_ROUTER: _refuse},
            prefix=prefix,
            concurrency=2,
        )
        try:
            async with running(worker):
                await queue.push(RECONCILE_ROUTER, {"router_id": router["id"]})
                await queue.push(
                    ADD_USER, {"router_id": router["id"], "subscriber_ids": [doomed["id"]]}
                )

                async def all_failed() -> bool:
                    return len(await queue.failed_jobs(100)) >= 3

                await wait_for(all_failed, timeout=15)
        finally:
            await queue.close()

        def listed(answer: dict[str, object]) -> list[tuple[str, str]]:
            failed = answer["failed"]
            assert isinstance(failed, list)
            return sorted((job["name"], str(job["data"].get("router_id"))) for job in failed)

        mine = (await http.get("/api/v1/queue", headers=alice.headers)).json()
        here = str(router["id"])
        assert listed(mine) == sorted(
            [(ADD_USER, "None"), (ADD_USER, here), (RECONCILE_ROUTER, here)]
        )
        assert (await http.get("/api/v1/queue", headers=bob.headers)).json()["failed"] == []

        # The subscriber goes (the worker's last step after the router confirmed it)...
        await http.delete(f"/api/v1/subscribers/{doomed['id']}", headers=alice.headers)
        async with runtime.sessionmaker() as session:
            await session.execute(delete(Subscriber).where(Subscriber.id == doomed["id"]))
            await session.commit()
        # ...and the next subscriber, in another tenant, never gets its id.
        fresh = await make_subscriber(http, bob)
        assert fresh["id"] > doomed["id"]
        theirs = (await http.get("/api/v1/queue", headers=bob.headers)).json()
        assert theirs["failed"] == []
        mine = (await http.get("/api/v1/queue", headers=alice.headers)).json()
        assert (ADD_USER, "None") not in listed(mine)  # its subscriber is gone
