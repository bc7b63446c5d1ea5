"""The converge lease on the subscriber row: two runs of one subscriber never both talk to the
router (issue 8). Real database (both backends), the simulator over TCP."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mikrosync.clock import now
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.converge import (
    HELD_RETRY_BASE_S,
    Attempt,
    Outcome,
    converge_budget_s,
    converge_subscriber,
    lease_s,
)
from mikrosync.sync.errors import TemporaryError
from tests.plugins.sync import World


async def row(world: World, subscriber_id: int) -> Subscriber:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        found = await session.scalar(select(Subscriber).where(Subscriber.id == subscriber_id))
    assert found is not None
    return found


async def hold_lease(world: World, subscriber_id: int, *, claim: str, for_s: float) -> None:
    """What a worker killed mid-converge leaves behind: `syncing`, its lease on the row."""
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        await session.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id)
            .values(
                sync_status="syncing",
                sync_claim=claim,
                sync_claimed_until=now() + timedelta(seconds=for_s),
            )
        )
        await session.commit()


async def wait_for_lease(world: World, subscriber_id: int) -> Subscriber:
    for _ in range(500):
        current = await row(world, subscriber_id)
        if current.sync_claim is not None:
            return current
        await asyncio.sleep(0.01)
    raise AssertionError("the converge never took its lease")


async def test_overlapping_converges_of_one_subscriber_cannot_both_apply(world: World) -> None:
    """Issue 8: a job pushed again (Redis flushed) while the first still runs on another worker,
    with a newer change: the second run must not reach the router beside the first."""
    created = await world.subscriber(username="overlap", password="first-pw")
    world.sim.set_latency(150)
    world.sim.reset_command_log()
    first = asyncio.create_task(world.converge(created["id"]))
    leased = await wait_for_lease(world, created["id"])
    assert leased.sync_status == "syncing"
    assert leased.sync_claimed_until is not None
    expected_until = now() + timedelta(seconds=lease_s(world.deps.settings))  # type: ignore[union-attr]
    assert abs((leased.sync_claimed_until - expected_until).total_seconds()) < 5
    await world.call("PATCH", f"/subscribers/{created['id']}", json={"password": "second-pw"})

    with pytest.raises(TemporaryError, match="another converge") as held:
        await world.converge(created["id"], "updateUser", number=1, is_last=False)
    # It comes back soon (the holder is a live converge of a few round trips), not after the
    # sweeper's stale window.
    assert held.value.delay is not None and 0 < held.value.delay <= HELD_RETRY_BASE_S

    assert await first == Outcome.SUCCEEDED
    # Only the first run's commands reached the router: no command twice, no `set`.
    log = world.sim.command_log
    assert "/ppp/secret/add" in log and "/ppp/secret/set" not in log
    assert len(log) == len(set(log)), log
    assert world.rows("/ppp/secret", name="overlap")[0]["password"] == "first-pw"
    after_first = await row(world, created["id"])
    assert (after_first.synced_version, after_first.desired_version) == (1, 2)
    assert after_first.sync_status == "pending" and after_first.sync_claim is None

    world.sim.set_latency(0)
    outcome = await world.converge(created["id"], "updateUser", number=2, is_last=False)
    assert outcome == Outcome.SUCCEEDED
    assert world.rows("/ppp/secret", name="overlap")[0]["password"] == "second-pw"
    settled = await row(world, created["id"])
    assert settled.sync_status == "synced" and settled.synced_version == 2
    assert settled.sync_claim is None and settled.sync_claimed_until is None


async def test_a_live_lease_keeps_the_router_untouched_and_the_row_as_it_is(
    world: World,
) -> None:
    created = await world.subscriber(username="leased")
    await hold_lease(world, created["id"], claim="other-worker", for_s=60)
    world.sim.reset_command_log()
    with pytest.raises(TemporaryError, match="another converge") as held:
        await world.converge(created["id"], number=7, is_last=False)
    # Later attempts poll less often, never past the lease's end.
    assert held.value.delay == pytest.approx(HELD_RETRY_BASE_S * 2**6)
    # The last attempt ends the job without a verdict: the row is the holder's to settle.
    assert await world.converge(created["id"], number=8, is_last=True) == Outcome.BUSY
    assert world.sim.command_log == []
    untouched = await row(world, created["id"])
    assert untouched.sync_status == "syncing" and untouched.sync_claim == "other-worker"
    assert untouched.synced_version == 0


async def test_an_expired_lease_is_taken_over(world: World) -> None:
    """A worker SIGKILLed mid-converge never releases its lease; once it has expired, the
    next run (the stalled job again, or the sweeper's push) takes the subscriber over."""
    created = await world.subscriber(username="orphaned", password="pw-1")
    await hold_lease(world, created["id"], claim="sigkilled-worker", for_s=-1)
    assert await world.converge(created["id"]) == Outcome.SUCCEEDED
    assert world.rows("/ppp/secret", name="orphaned")[0]["password"] == "pw-1"
    taken = await row(world, created["id"])
    assert taken.sync_status == "synced" and taken.synced_version == 1
    assert taken.sync_claim is None and taken.sync_claimed_until is None


async def test_a_run_whose_lease_was_taken_over_records_nothing(world: World) -> None:
    """If a run outlived its lease and another took over, its compare-and-set must not land."""
    created = await world.subscriber(username="outlived")
    world.sim.set_latency(150)
    first = asyncio.create_task(world.converge(created["id"]))
    await wait_for_lease(world, created["id"])
    await hold_lease(world, created["id"], claim="the-new-holder", for_s=60)
    assert await first == Outcome.SUCCEEDED
    kept = await row(world, created["id"])
    assert kept.sync_claim == "the-new-holder" and kept.synced_version == 0


async def test_a_cancelled_converge_hands_its_lease_back(world: World) -> None:
    created = await world.subscriber(username="cancelled")
    world.sim.set_latency(300)
    run = asyncio.create_task(world.converge(created["id"]))
    await wait_for_lease(world, created["id"])
    await asyncio.sleep(0.1)  # now in the router conversation
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    released = await row(world, created["id"])
    assert released.sync_claim is None and released.sync_status == "pending"
    world.sim.set_latency(0)
    assert await world.converge(created["id"]) == Outcome.SUCCEEDED


async def test_a_converge_is_cut_off_before_its_lease_ends(world: World) -> None:
    """Waiting for a router session is not bounded by any command timeout; the converge's own
    budget is, so a run never talks to the router once its lease may have passed to another."""
    assert world.deps is not None
    tight = world.deps.settings.model_copy(
        update={
            "router_connect_timeout_s": 0.2,
            "router_command_timeout_s": 0.1,
            "router_max_sessions": 1,
        }
    )
    budget = converge_budget_s(tight)
    assert budget < lease_s(tight)
    created = await world.subscriber(username="starved")
    async with world.deps.sessionmaker() as session:
        router = await session.get(Router, world.router["id"])
    assert router is not None
    async with world.deps.private_routers(settings=tight) as deps:
        async with deps.client(router).pool.connection():  # the router's only connection, held
            started = time.monotonic()
            with pytest.raises(TemporaryError, match="cut off"):
                await converge_subscriber(deps, created["id"], Attempt("addUser", is_last=False))
            elapsed = time.monotonic() - started
        assert budget <= elapsed < lease_s(tight)
        parked = await row(world, created["id"])
        assert parked.sync_status == "pending" and parked.sync_claim is None
        assert world.rows("/ppp/secret", name="starved") == []
        assert await converge_subscriber(deps, created["id"], Attempt("addUser")) == (
            Outcome.SUCCEEDED
        )
