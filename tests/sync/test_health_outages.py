"""Short router outages are seen (issue 17, item 9): the health check is a cheap probe (one
command on the pooled connection while the router stays up), frequent by default, with a
deadline of its own, and every change of state opens or closes an outage. Against the
simulator over TCP, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from mikrosync.routers import outages
from mikrosync.routers.models import Router, RouterOutage
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.sync import router_state
from mikrosync.sync.health import HealthResult, _record_seen, check_all_routers, check_router
from tests.helpers import RouterSite
from tests.plugins.core import Staff
from tests.plugins.sync import ROUTER_PASSWORD

PROBE = "/system/identity/print"
# Nothing listens there: a probe of it is refused at once.
CLOSED_PORT = 1


def test_the_default_interval_sees_a_12_second_outage() -> None:
    """At least two probes fall inside any 12 s window (one may race the drop)."""
    assert Settings().health_interval_s * 2 <= 12


@pytest.fixture
async def patient(runtime: Runtime, settings: Settings) -> AsyncIterator[Runtime]:
    """Router pools as a worker's, with a 1 s connect timeout (the probe's deadline) and a
    command timeout far longer, so a probe that times out did so on its own deadline."""
    chosen = settings.model_copy(
        update={"router_connect_timeout_s": 1.0, "router_command_timeout_s": 30.0}
    )
    async with runtime.private_routers(settings=chosen) as private:
        yield private


@pytest.fixture
async def site(
    client: httpx.AsyncClient, owner: Staff, sim: SimRouter, runtime: Runtime
) -> RouterSite:
    built = RouterSite(**await RouterSite.create(client, owner, sim, ROUTER_PASSWORD))
    # The checks probe every router of this database, and the OS hands the ports of earlier
    # tests' finished simulators out again: a router row of theirs at this address would be
    # probed too, reach this simulator and take the fault armed for this router's probe.
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(Router)
            .where(Router.host == sim.host, Router.port == sim.port)
            .where(Router.id != built.router["id"])
            .values(port=CLOSED_PORT)
        )
        await session.commit()
    return built


async def _check(deps: Runtime, router_id: int) -> HealthResult:
    results, _hints = await check_all_routers(deps)
    [mine] = [r for r in results if r.router_id == router_id]
    return mine


async def _router(deps: Runtime, router_id: int) -> Router:
    async with deps.sessionmaker() as session:
        found = await session.get(Router, router_id)
        assert found is not None
        return found


async def _outages(deps: Runtime, router_id: int) -> list[RouterOutage]:
    async with deps.sessionmaker() as session:
        query = select(RouterOutage).where(RouterOutage.router_id == router_id)
        return list((await session.scalars(query.order_by(RouterOutage.id))).all())


async def test_an_outage_between_two_probes_is_recorded_start_and_end(
    patient: Runtime, site: RouterSite
) -> None:
    router_id = site.router["id"]
    first = await _check(patient, router_id)
    assert first.online and first.came_back
    seen = await _router(patient, router_id)
    assert seen.is_online and seen.routeros_version and seen.last_seen_at is not None

    # Up and steady: one short command per probe on the pooled connection, no new login.
    before = len(site.sim.command_log)
    opened = patient.routers.client(seen).pool.opened
    steady = await _check(patient, router_id)
    assert steady.online and not steady.came_back
    assert site.sim.command_log[before:] == [PROBE]
    assert patient.routers.client(seen).pool.opened == opened
    later = await _router(patient, router_id)
    assert later.last_seen_at is not None and later.last_seen_at >= seen.last_seen_at

    await site.sim.go_down()
    down = await _check(patient, router_id)
    assert not down.online and down.error
    [open_] = await _outages(patient, router_id)
    assert open_.ended_at is None and open_.error == down.error
    assert (await _router(patient, router_id)).is_online is False
    # Still down at the next probe: the same outage, not a new one.
    await _check(patient, router_id)
    assert len(await _outages(patient, router_id)) == 1

    await site.sim.come_up()
    back = await _check(patient, router_id)
    assert back.online and back.came_back
    [closed] = await _outages(patient, router_id)
    assert closed.ended_at is not None and closed.ended_at >= closed.started_at
    tenant_id = site.owner.tenant_id
    assert tenant_id is not None
    async with patient.sessionmaker() as session:
        flaps = await outages.flaps_since(session, tenant_id=tenant_id, since=timedelta(hours=1))
    assert flaps[router_id] == 1


async def test_a_router_that_stops_answering_is_offline_within_the_probe_deadline(
    patient: Runtime, site: RouterSite
) -> None:
    """A router that drops packets (the connection stays open, nothing comes back) is offline
    after the probe's deadline (the connect timeout, 1 s here), not after the 30 s command
    timeout, by which time a short outage would be over and unseen."""
    router_id = site.router["id"]
    assert (await _check(patient, router_id)).online
    site.sim.stall_next(1, path=PROBE)
    silent = await _check(patient, router_id)
    assert not silent.online and silent.error == "no answer within 1 s"
    [outage] = await _outages(patient, router_id)
    assert outage.ended_at is None
    # The stalled connection was not put back in the pool: the next probe answers.
    back = await _check(patient, router_id)
    assert back.online and back.came_back
    [outage] = await _outages(patient, router_id)
    assert outage.ended_at is not None


async def test_a_router_a_job_marked_offline_is_recorded_back_by_the_next_probe(
    patient: Runtime, site: RouterSite
) -> None:
    """The probe's one-statement "last seen" for steady routers still closes an outage that a
    job opened meanwhile (the router row was read online at the start of the round)."""
    router_id = site.router["id"]
    assert (await _check(patient, router_id)).online
    assert (await _check(patient, router_id)).online  # steady from now on
    async with patient.sessionmaker() as session:
        await router_state.mark_offline(session, router_id, "connection refused (a job)")
        await session.commit()
    # A round whose router list was read before the job's mark: simulate by checking the
    # router as last loaded (online) through check_router with the batch list.
    stale = await _router(patient, router_id)
    stale.is_online = True
    seen: list[int] = []
    result = await check_router(patient, stale, seen=seen)
    assert result.online and seen == [router_id]
    assert await _record_seen(patient, seen) == {router_id}
    fresh = await _router(patient, router_id)
    assert fresh.is_online is True and fresh.last_error is None
    [outage] = await _outages(patient, router_id)
    assert outage.ended_at is not None
