"""The per-router unit of work: one run drains a router's owed changes with pipelined commands.

Real database (both backends), the simulator over TCP; the runs are called as the worker's
subscriber job handler calls them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mikrosync.sync.batch import RouterRuns, sync_subscriber
from mikrosync.sync.converge import Attempt, Outcome
from tests.plugins.sync import World


async def _subscribers(world: World, n: int, **overrides: Any) -> list[dict[str, Any]]:
    return [
        await world.subscriber(username=f"b{i}-{world.router['id']}", **overrides) for i in range(n)
    ]


async def _drain(world: World, subscriber_id: int, job: str = "addUser") -> Outcome:
    assert world.deps is not None
    return await sync_subscriber(world.deps, RouterRuns(), subscriber_id, Attempt(job))


async def _statuses(world: World, rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter([(await world.status(row["id"]))["sync_status"] for row in rows])


async def test_one_job_creates_every_owed_subscriber_of_its_router_with_one_add_each(
    world: World,
) -> None:
    rows = await _subscribers(world, 30)
    world.sim.reset_command_log()
    assert await _drain(world, rows[0]["id"]) == Outcome.SUCCEEDED
    assert await _statuses(world, rows) == {"synced": 30}
    log = Counter(world.sim.command_log)
    assert log["/ppp/secret/add"] == 30
    assert log["/ppp/secret/print"] == 0  # nothing read for brand-new logins
    for row in rows:
        secret = world.rows("/ppp/secret", name=row["username"])[0]
        assert secret["comment"].endswith(f":s={row['id']}")
    events = await world.call("GET", f"/subscribers/{rows[5]['id']}/events")
    outcomes = [(e["operation"], e["outcome"]) for e in events]
    assert ("addUser", "succeeded") in outcomes


async def test_a_mass_suspension_of_online_subscribers_is_two_commands_each(world: World) -> None:
    rows = await _subscribers(world, 30)
    await _drain(world, rows[0]["id"])
    for row in rows:
        assert world.sim.dial_in("ppp", row["username"])
    for row in rows:
        await world.call("POST", f"/subscribers/{row['id']}/suspend")
    world.sim.reset_command_log()
    assert await _drain(world, rows[-1]["id"], "disconnectUser") == Outcome.SUCCEEDED
    assert await _statuses(world, rows) == {"synced": 30}
    log = Counter(world.sim.command_log)
    assert log["/ppp/secret/set"] == 30
    assert log["/ppp/active/remove"] == 30
    # The reads are per batch, not per subscriber: secrets, sessions, and the check after.
    assert log["/ppp/secret/print"] + log["/ppp/active/print"] <= 4
    assert world.rows("/ppp/active") == []
    assert all(r["disabled"] == "true" for r in world.rows("/ppp/secret"))


async def test_a_trap_on_one_row_fails_that_row_alone_with_the_routers_words(
    world: World,
) -> None:
    rows = await _subscribers(world, 10)
    world.sim.trap_next("/ppp/secret/add", message="failure: simulated refusal")
    assert world.deps is not None
    outcome = await sync_subscriber(world.deps, RouterRuns(), rows[9]["id"], Attempt("addUser"))
    assert outcome == Outcome.SUCCEEDED
    statuses = [await world.status(row["id"]) for row in rows]
    failed = [s for s in statuses if s["sync_status"] == "error"]
    assert len(failed) == 1
    assert failed[0]["sync_error_message"] == "failure: simulated refusal"
    assert sum(s["sync_status"] == "synced" for s in statuses) == 9


async def test_an_unreachable_router_parks_the_batch_pending_and_marks_the_router_offline(
    world: World,
) -> None:
    rows = await _subscribers(world, 5)
    await world.sim.stop()
    outcome = await _drain(world, rows[0]["id"])
    assert outcome == Outcome.WAITING
    assert await _statuses(world, rows) == {"pending": 5}
    router = await world.call("GET", f"/routers/{world.router['id']}")
    assert router["is_online"] is False


async def test_a_job_of_a_router_already_being_drained_returns_at_once(world: World) -> None:
    rows = await _subscribers(world, 3)
    runs = RouterRuns(per_router=1)
    assert runs.enter(world.router["id"])
    assert world.deps is not None
    outcome = await sync_subscriber(world.deps, runs, rows[0]["id"], Attempt("addUser"))
    assert outcome == Outcome.BUSY
    assert world.router["id"] in runs.dirty  # the running drain looks once more before it ends
