"""The job pushed for a change carries the name the timeline records (issue 14, defect 3).

A password PATCH recorded `updateUser requested` but pushed `connectUser` (the name was derived
from the row's state, not from the intent). Each action here runs on a synced subscriber whose
old job is gone, so the job found waiting is the one this action pushed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from mikrosync.jobs.producer import JobQueue
from mikrosync.settings import Settings
from mikrosync.sync.converge import Outcome
from tests.plugins.core import TEST_PUSH_TIMEOUT_S
from tests.plugins.sync import World


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[JobQueue]:
    jobs = JobQueue(
        settings.redis_url or "", prefix=settings.queue_prefix, timeout_s=TEST_PUSH_TIMEOUT_S
    )
    yield jobs
    await jobs.close()


async def pushed(queue: JobQueue, subscriber_id: int) -> list[Any]:
    waiting = await queue._call("getWaiting", 0, -1)
    return [job for job in waiting if job.data == {"subscriber_id": subscriber_id}]


async def requested(world: World, subscriber_id: int) -> str:
    events = await world.call("GET", f"/subscribers/{subscriber_id}/events")
    items = events["items"] if isinstance(events, dict) else events
    latest = [e for e in items if e["outcome"] == "requested"]
    latest.sort(key=lambda e: (e["created_at"], e["id"]))
    return str(latest[-1]["operation"])


async def synced_with_no_job(world: World, queue: JobQueue, **fields: Any) -> int:
    created = await world.subscriber(**fields)
    [job] = await pushed(queue, created["id"])
    assert job.name == "addUser" == await requested(world, created["id"])
    assert await world.converge(created["id"]) == Outcome.SUCCEEDED
    await queue.remove_job(job.id)
    assert await pushed(queue, created["id"]) == []
    return int(created["id"])


@pytest.mark.regression
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("password", "updateUser"),
        ("package", "updateUserPackage"),
        ("suspend", "disconnectUser"),
        ("connect", "connectUser"),
        ("renew", "connectUser"),
        ("retry", "retry"),
        ("delete", "removeUser"),
    ],
)
async def test_the_job_pushed_is_the_one_the_timeline_names(
    world: World, queue: JobQueue, action: str, expected: str
) -> None:
    sid = await synced_with_no_job(world, queue, password="old-secret-1")
    if action == "connect":
        await world.call("POST", f"/subscribers/{sid}/suspend")
        assert await world.converge(sid, "disconnectUser") == Outcome.SUCCEEDED
        for job in await pushed(queue, sid):
            await queue.remove_job(job.id)
    if action == "password":
        await world.call("PATCH", f"/subscribers/{sid}", json={"password": "new-secret-2"})
    elif action == "package":
        faster = await world.call(
            "POST", "/packages", json={"name": "Faster", "service": "pppoe", "rate_limit": "9M/3M"}
        )
        await world.call("PATCH", f"/subscribers/{sid}", json={"package_id": faster["id"]})
    elif action == "delete":
        await world.call("DELETE", f"/subscribers/{sid}")
    else:
        await world.call("POST", f"/subscribers/{sid}/{action}")
    jobs = await pushed(queue, sid)
    assert [job.name for job in jobs] == [expected]
    assert await requested(world, sid) == expected
    # The converge records its outcome under the same name.
    assert await world.converge(sid, expected) in (Outcome.SUCCEEDED, Outcome.REMOVED)
