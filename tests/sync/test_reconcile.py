"""reconcile_router against the simulator over real TCP, on both databases.

The router is seeded with every kind of drift the way a technician would make it: edits on
the console (`sim.store`), rows added by hand (`sim.add_row`), sessions dialled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update

from mikrosync.errors import NotFound
from mikrosync.subscribers.models import Subscriber, SyncEvent
from mikrosync.sync.converge import Outcome
from mikrosync.sync.errors import PermanentError
from mikrosync.sync.reconcile import ReconcileOutcome, reconcile_job, reconcile_router
from mikrosync.sync.reconcile_runs.models import ReconcileRun, RunStatus
from mikrosync.tenants.models import Tenant
from tests.plugins.sync import World

WRITE_VERBS = ("/add", "/set", "/remove", "/enable", "/disable", "/unset", "/comment")


def edit(world: World, path: str, key: str, **values: str) -> None:
    """A technician's change on the router console."""
    [row] = world.rows(path, name=key)
    world.sim.store.table(path).update([row[".id"]], values)


def drop(world: World, path: str, name: str) -> None:
    [row] = world.rows(path, name=name)
    world.sim.store.remove(path, [row[".id"]])


def tag(world: World, role: str, ref: int) -> str:
    return f"mikrosync:t={world.owner.tenant_id}:{role}={ref}"


async def reconcile(world: World, *, dry_run: bool = False) -> ReconcileOutcome:
    assert world.deps is not None
    return await reconcile_router(world.deps, world.router["id"], dry_run=dry_run)


async def converge_fixes(world: World, outcome: ReconcileOutcome) -> None:
    for subscriber_id in outcome.fix_subscriber_ids:
        assert await world.converge(subscriber_id, "reconcileRouter") == Outcome.SUCCEEDED


async def stored_run(world: World, run_id: int) -> ReconcileRun:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        run = await session.get(ReconcileRun, run_id)
        assert run is not None
        return run


async def set_policy(world: World, **policy: str) -> None:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        await session.execute(
            update(Tenant).where(Tenant.id == world.owner.tenant_id).values(reconcile_policy=policy)
        )
        await session.commit()


@dataclass
class Drifted:
    """A synced site, then every kind of drift made by hand."""

    world: World
    ids: dict[str, int]
    unmanaged: list[dict[str, str]]


async def synced(world: World, service: str = "pppoe", **fields: Any) -> int:
    created = await world.subscriber(service, **fields)
    assert await world.converge(created["id"]) == Outcome.SUCCEEDED
    return int(created["id"])


@pytest.fixture
async def drifted(world: World) -> Drifted:
    ids = {
        "alice": await synced(world, username="alice"),
        "bob": await synced(world, username="bob"),
        "carol": await synced(world, username="carol"),
        "guest": await synced(world, "hotspot", username="guest"),
        "shop": await synced(world, "static", username="shop", static_ip="10.9.0.7"),
        "calm": await synced(world, username="calm"),
        "kiosk": await synced(world, "static", username="kiosk", static_ip="10.9.0.8"),
    }
    for name in ("bob", "kiosk"):
        await world.call("POST", f"/subscribers/{ids[name]}/suspend")
        assert await world.converge(ids[name], "disconnectUser") == Outcome.SUCCEEDED
    # A technician "helps": moves alice to another profile, re-enables suspended bob (who
    # dials in at once), deletes carol's secret, speeds up the shop's queue and the package.
    edit(world, "/ppp/secret", "alice", profile="default")
    edit(world, "/ppp/secret", "bob", disabled="false")
    assert world.sim.dial_in("ppp", "bob")
    drop(world, "/ppp/secret", "carol")
    [block] = world.rows("/ip/firewall/address-list", list="mikrosync-blocked")
    world.sim.store.remove("/ip/firewall/address-list", [block[".id"]])
    edit(world, "/queue/simple", "shop", **{"max-limit": "50M/50M"})
    edit(
        world, "/ppp/profile", world.packages["pppoe"]["profile_name"], **{"rate-limit": "99M/99M"}
    )
    # Leftovers tagged as ours whose rows are gone, and an unknown package's profile.
    world.sim.add_row("/ppp/secret", {"name": "ghost", "comment": tag(world, "s", 987654)})
    world.sim.add_row("/ip/hotspot/user", {"name": "ghost2", "comment": tag(world, "s", 987655)})
    world.sim.add_row("/ppp/profile", {"name": "old-plan", "comment": tag(world, "p", 987656)})
    # Logins that are not ours.
    world.sim.add_row("/ppp/secret", {"name": "tech-1", "password": "x", "profile": "default"})
    world.sim.add_row("/ppp/secret", {"name": "legacy", "comment": "manual entry"})
    world.sim.add_row("/ip/hotspot/user", {"name": "visitor", "comment": "mikrosync:t=1"})
    unmanaged = [
        *world.rows("/ppp/secret", name="tech-1"),
        *world.rows("/ppp/secret", name="legacy"),
        *world.rows("/ip/hotspot/user", name="visitor"),
    ]
    return Drifted(world, ids, unmanaged)


EXPECTED_COUNTS = {
    "missing": 2,
    "different": 3,
    "orphan": 3,
    "unmanaged": 3,
    "profile_drift": 1,
}


async def test_every_kind_of_drift_is_found_and_repaired(drifted: Drifted) -> None:
    world, ids = drifted.world, drifted.ids
    outcome = await reconcile(world)
    assert outcome.status == RunStatus.SUCCEEDED and not outcome.dry_run
    assert outcome.counts == EXPECTED_COUNTS
    fixed = [ids[name] for name in ("alice", "bob", "carol", "shop", "kiosk")]
    assert sorted(outcome.fix_subscriber_ids) == sorted(fixed)
    assert not outcome.drift_remains
    # Orphans and the package profile were repaired by the run itself...
    assert world.rows("/ppp/secret", name="ghost") == []
    assert world.rows("/ip/hotspot/user", name="ghost2") == []
    assert world.rows("/ppp/profile", name="old-plan") == []
    profile = world.packages["pppoe"]["profile_name"]
    assert world.rows("/ppp/profile", name=profile)[0]["rate-limit"] == "10M/5M"
    # ...the subscribers through their converge.
    for subscriber_id in fixed:
        assert (await world.get(subscriber_id))["sync_status"] == "pending"
    await converge_fixes(world, outcome)
    assert world.rows("/ppp/secret", name="alice")[0]["profile"] == profile
    assert world.rows("/ppp/secret", name="bob")[0]["disabled"] == "true"
    assert world.rows("/ppp/active", name="bob") == []
    assert world.rows("/ppp/secret", name="carol")[0]["comment"] == tag(world, "s", ids["carol"])
    [block] = world.rows("/ip/firewall/address-list", list="mikrosync-blocked")
    assert block["address"].startswith("10.9.0.8")
    assert world.rows("/queue/simple", name="shop")[0]["max-limit"] in (
        "20M/20M",
        "20000000/20000000",
    )
    # Unmanaged logins are exactly as they were.
    after = [
        *world.rows("/ppp/secret", name="tech-1"),
        *world.rows("/ppp/secret", name="legacy"),
        *world.rows("/ip/hotspot/user", name="visitor"),
    ]
    assert after == drifted.unmanaged
    again = await reconcile(world)
    assert again.counts == dict.fromkeys(EXPECTED_COUNTS, 0) | {"unmanaged": 3}
    assert again.fix_subscriber_ids == () and not again.drift_remains


async def test_report_names_each_drift_and_the_intent_names_the_difference(
    drifted: Drifted,
) -> None:
    world, ids = drifted.world, drifted.ids
    outcome = await reconcile(world)
    run = await stored_run(world, outcome.run_id)
    assert run.status == "succeeded" and run.finished_at is not None and run.dry_run is False
    assert run.counts == EXPECTED_COUNTS
    by_name = {kind: {item["name"]: item for item in items} for kind, items in run.items.items()}
    assert set(by_name["different"]) == {"alice", "bob", "shop"}
    assert "profile is 'default' on the router" in by_name["different"]["alice"]["detail"]
    bob = by_name["different"]["bob"]["detail"]
    assert "enabled on the router, should be disabled" in bob and "owed disconnect" in bob
    assert "max-limit" in by_name["different"]["shop"]["detail"]
    assert by_name["missing"]["carol"]["detail"] == "not on the router"
    kiosk = by_name["missing"]["kiosk"]["detail"]
    assert kiosk == "its /ip/firewall/address-list entry '10.9.0.8' is missing"
    assert set(by_name["orphan"]) == {"ghost", "ghost2", "old-plan"}
    assert set(by_name["unmanaged"]) == {"tech-1", "legacy", "visitor"}
    assert "99M/99M" in by_name["profile_drift"][world.packages["pppoe"]["profile_name"]]["detail"]
    assert "password" not in str(run.items).replace("password differs", "")
    results = {(a["name"], a["action"], a["result"]) for a in run.actions}
    assert ("ghost", "remove", "removed") in results
    assert ("alice", "converge", "queued") in results
    events = await world.call("GET", f"/subscribers/{ids['alice']}/events")
    assert events[0]["actor"] == "reconcile" and events[0]["outcome"] == "requested"
    assert events[0]["message"].startswith("drift: profile is 'default'")
    router = await world.call("GET", f"/routers/{world.router['id']}")
    assert router["last_drift_counts"] == EXPECTED_COUNTS
    assert router["last_reconciled_at"] is not None


async def test_dry_run_writes_nothing(drifted: Drifted) -> None:
    world = drifted.world
    assert world.deps is not None
    before = await _versions(world)
    events_before = await _event_count(world)
    world.sim.reset_command_log()
    outcome = await reconcile(world, dry_run=True)
    assert outcome.counts == EXPECTED_COUNTS
    assert outcome.fix_subscriber_ids == ()
    assert outcome.remaining == {k: v for k, v in EXPECTED_COUNTS.items() if k != "unmanaged"}
    assert world.sim.command_log and all(c.endswith("/print") for c in world.sim.command_log)
    assert await _versions(world) == before
    assert await _event_count(world) == events_before
    run = await stored_run(world, outcome.run_id)
    assert run.dry_run is True and run.counts == EXPECTED_COUNTS and run.actions == []
    router = await world.call("GET", f"/routers/{world.router['id']}")
    assert router["last_reconciled_at"] is None


async def test_policy_report_leaves_orphans_and_drift(drifted: Drifted) -> None:
    world = drifted.world
    await set_policy(world, orphan="report", profile_drift="report")
    outcome = await reconcile(world)
    assert outcome.remaining["orphan"] == 3 and outcome.remaining["profile_drift"] == 1
    assert outcome.remaining["missing"] == 0 and outcome.drift_remains
    assert len(world.rows("/ppp/secret", name="ghost")) == 1
    assert world.rows("/ppp/profile", name="old-plan")
    profile = world.packages["pppoe"]["profile_name"]
    assert world.rows("/ppp/profile", name=profile)[0]["rate-limit"] == "99M/99M"


async def test_policy_report_for_subscribers_records_no_intent(drifted: Drifted) -> None:
    world = drifted.world
    await set_policy(world, missing="report", different="report")
    before = await _versions(world)
    outcome = await reconcile(world)
    assert outcome.fix_subscriber_ids == ()
    assert outcome.remaining["missing"] == 2 and outcome.remaining["different"] == 3
    assert await _versions(world) == before


async def test_in_flight_subscribers_are_not_judged(world: World) -> None:
    created = await world.subscriber(username="newcomer")  # pending, never converged
    outcome = await reconcile(world)
    assert outcome.counts["missing"] == 0 and outcome.fix_subscriber_ids == ()
    assert (await world.get(created["id"]))["desired_version"] == 1


async def test_renamed_login_is_recreated_and_the_old_one_removed(world: World) -> None:
    subscriber_id = await synced(world, username="dora")
    edit(world, "/ppp/secret", "dora", name="dora-old")
    outcome = await reconcile(world)
    assert outcome.counts["missing"] == 1 and outcome.counts["orphan"] == 1
    assert world.rows("/ppp/secret", name="dora-old") == []
    await converge_fixes(world, outcome)
    assert world.rows("/ppp/secret", name="dora")[0]["comment"] == tag(world, "s", subscriber_id)
    assert not any((await reconcile(world)).counts.values())


async def test_orphan_profile_still_in_use_is_left_and_reported(world: World) -> None:
    world.sim.add_row("/ppp/profile", {"name": "kept", "comment": tag(world, "p", 876543)})
    world.sim.add_row("/ppp/secret", {"name": "walk-in", "profile": "kept"})
    outcome = await reconcile(world)
    assert outcome.counts["orphan"] == 1 and outcome.remaining["orphan"] == 1
    assert world.rows("/ppp/profile", name="kept")
    run = await stored_run(world, outcome.run_id)
    assert run.items["orphan"][0]["blocked"] == "still the profile of 1 login(s)"


async def test_orphan_of_a_subscriber_on_another_router_is_removed_here(world: World) -> None:
    subscriber_id = await synced(world, username="mover")
    world.sim.add_row("/ppp/secret", {"name": "mover-copy", "comment": tag(world, "s", 1)})
    outcome = await reconcile(world)
    assert outcome.counts["orphan"] == 1 and world.rows("/ppp/secret", name="mover-copy") == []
    assert world.rows("/ppp/secret", name="mover")[0]["comment"] == tag(world, "s", subscriber_id)


async def test_unreachable_router_stores_a_failed_run_and_marks_it_offline(world: World) -> None:
    await world.sim.go_down()
    outcome = await reconcile(world)
    assert outcome.status == RunStatus.FAILED and outcome.error
    assert world.router["name"] in outcome.error
    run = await stored_run(world, outcome.run_id)
    assert run.status == "failed" and run.error == outcome.error and run.finished_at
    router = await world.call("GET", f"/routers/{world.router['id']}")
    assert router["is_online"] is False and router["last_reconciled_at"] is None


async def test_router_failing_mid_repair_ends_partial(drifted: Drifted) -> None:
    world = drifted.world
    world.sim.trap_next("/ppp/secret/remove", message="failure: busy")
    outcome = await reconcile(world)
    assert outcome.status == RunStatus.PARTIAL
    assert outcome.remaining["orphan"] == 1 and "failure: busy" in (outcome.error or "")
    assert len(outcome.fix_subscriber_ids) == 5


async def test_unknown_router_is_not_found_and_a_permanent_job_error(world: World) -> None:
    assert world.deps is not None
    with pytest.raises(NotFound):
        await reconcile_router(world.deps, 10**9, dry_run=True)
    with pytest.raises(PermanentError):
        await reconcile_job(world.deps, 10**9)


async def test_the_job_handler_runs_a_real_reconciliation(drifted: Drifted) -> None:
    world = drifted.world
    assert world.deps is not None
    outcome = await reconcile_job(world.deps, world.router["id"])
    assert not outcome.dry_run and outcome.counts == EXPECTED_COUNTS
    assert {job.job_name for job in outcome.fix_jobs} == {"connectUser", "disconnectUser"}
    await world.sim.go_down()
    failed = await reconcile_job(world.deps, world.router["id"])
    assert failed.status == RunStatus.FAILED and failed.fix_jobs == ()


async def _versions(world: World) -> list[tuple[int, int, int]]:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        query = select(Subscriber.id, Subscriber.desired_version, Subscriber.synced_version).where(
            Subscriber.router_id == world.router["id"]
        )
        return sorted(tuple(row) for row in (await session.execute(query)).all())


async def _event_count(world: World) -> int:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        query = select(func.count()).where(SyncEvent.tenant_id == world.owner.tenant_id)
        return int((await session.execute(query)).scalar_one())
