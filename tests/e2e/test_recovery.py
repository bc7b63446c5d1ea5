"""Recovery: a worker killed mid-job, two workers on one subscriber, and Redis losing every
job (FLUSHALL on a private Redis) — convergence still follows."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta

import pytest
import redis.asyncio

from mikrosync.jobs.embedded import embedded_redis
from mikrosync.settings import Settings
from mikrosync.sync.converge import lease_s
from tests.plugins.e2e import WORKER_ENV, Site, WorkerProcess, eventually

# Router commands time out after 1 s here (2 s in the other modules): the killed worker's
# lease, which the test waits out, is 2 x 1 + 12 x 1 + 10 = 24 s instead of 36 s.
RECOVERY_ENV = {"MIKROSYNC_ROUTER_COMMAND_TIMEOUT_S": "1"}
WORKER_SETTINGS = Settings.model_validate(
    {
        name.removeprefix("MIKROSYNC_").lower(): value
        for name, value in (WORKER_ENV | RECOVERY_ENV).items()
    }
)
# Each router reply of the killed run takes this long, well inside the 1 s command timeout:
# the run is still talking to the router when the test sees it syncing and kills the worker.
SERVICE_TIME_MS = 600


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this module alone, so FLUSHALL hurts no one else."""
    server = embedded_redis(tmp_path_factory.mktemp("private-redis"))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    return RECOVERY_ENV


@pytest.fixture(scope="module")
async def e2e_settings(e2e_settings: Settings, private_redis: str) -> AsyncIterator[Settings]:
    yield e2e_settings.model_copy(update={"redis_url": private_redis})


async def test_flushall_with_pending_rows_is_healed_by_the_sweeper(
    site: Site, worker: WorkerProcess, e2e_settings: Settings
) -> None:
    await site.sim.go_down()
    created = [await site.subscriber(username=f"lost{i}") for i in range(5)]
    client = redis.asyncio.from_url(e2e_settings.redis_url or "")
    try:
        await client.flushall()
    finally:
        await client.aclose()
    await site.sim.come_up()
    for row in created:
        await site.synced(row["id"], timeout=30)
    assert len(site.rows("/ppp/secret")) == 5


async def test_killed_worker_job_runs_again(
    site: Site, workers: Callable[..., WorkerProcess], worker: WorkerProcess
) -> None:
    site.sim.set_service_time(SERVICE_TIME_MS)
    created = await site.subscriber(username="survivor")

    async def syncing() -> bool:
        return (await site.status(created["id"]))["sync_status"] == "syncing"

    await eventually(syncing, what="job started")
    worker.kill()
    workers()
    site.sim.set_service_time(0)
    # The killed run's lease on the row is never released: the next run takes the subscriber
    # over once it has expired (docs/jobs.md, "The converge lease").
    await site.synced(created["id"], timeout=lease_s(WORKER_SETTINGS) + 20)
    assert len(site.rows("/ppp/secret", name="survivor")) == 1


async def test_two_workers_never_converge_one_subscriber_at_once(
    site: Site, workers: Callable[..., WorkerProcess]
) -> None:
    workers()
    workers()
    site.sim.set_latency(30)
    created = [await site.subscriber(username=f"busy{i}") for i in range(4)]
    for round_number in range(5):
        for row in created:
            await site.call(
                "PATCH", f"/subscribers/{row['id']}", json={"password": f"pw-{round_number}"}
            )
        await asyncio.sleep(0.05)
    for row in created:
        await site.synced(row["id"], timeout=40)
        events = await site.call("GET", f"/subscribers/{row['id']}/events?limit=1000")
        runs = sorted(
            (
                _parse(e["created_at"]) - timedelta(milliseconds=e["duration_ms"]),
                _parse(e["created_at"]),
            )
            for e in events
            if e["outcome"] != "requested"
        )
        for (_, end), (start, _) in itertools.pairwise(runs):
            assert start >= end, f"overlapping converges of subscriber {row['id']}: {runs}"
        assert site.rows("/ppp/secret", name=f"busy{created.index(row)}")[0]["password"] == "pw-4"


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
