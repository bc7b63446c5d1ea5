"""Router adoption against the simulator over real TCP, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from mikrosync.onboarding.adopt import adopt, preview
from mikrosync.onboarding.adopt_plan import AdoptionPlan
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.converge import Outcome
from tests.plugins.sync import World

WRITES = ("/add", "/set", "/remove", "/enable", "/disable")


def writes(world: World) -> list[str]:
    return [command for command in world.sim.command_log if command.endswith(WRITES)]


async def seed(world: World) -> dict[str, Any]:
    """Logins a technician made by hand (on a hand-made profile "fiber" that a package of
    the same profile_name describes at another rate), plus a subscriber in mikrosync's
    database that is not on the router yet, and one that is (tagged)."""
    mine = await world.subscriber(username="mine")
    assert await world.converge(mine["id"]) == Outcome.SUCCEEDED
    fiber = await world.call(
        "POST",
        "/packages",
        json={"name": "Fiber", "service": "pppoe", "rate_limit": "10M/5M", "profile_name": "fiber"},
    )
    ppp = "fiber"
    hot = world.packages["hotspot"]["profile_name"]
    sim = world.sim
    sim.add_row("/ppp/profile", {"name": ppp, "rate-limit": "5M/5M"})
    sim.add_row("/ppp/profile", {"name": "legacy", "rate-limit": "1M/1M"})
    sim.add_row(
        "/ppp/secret",
        {"name": "u1", "password": "pw-u1", "profile": ppp, "remote-address": "10.9.0.1"},
    )
    sim.add_row(
        "/ppp/secret",
        {"name": "u2", "password": "pw-u2", "profile": ppp, "service": "pppoe", "disabled": "yes"},
    )
    sim.add_row(
        "/ppp/secret", {"name": "old1", "password": "x1", "profile": "legacy", "comment": "cash"}
    )
    sim.add_row("/ppp/secret", {"name": "old2", "password": "x2", "profile": "legacy"})
    sim.add_row(
        "/ppp/secret", {"name": "vpn1", "password": "x3", "profile": ppp, "service": "l2tp"}
    )
    sim.add_row("/ppp/secret", {"name": "taken", "password": "x4", "profile": ppp})
    sim.add_row("/ip/hotspot/user/profile", {"name": hot, "rate-limit": "2M/1M"})
    sim.add_row("/ip/hotspot/user", {"name": "h1", "password": "pw-h1", "profile": hot})
    sim.add_row("/ip/hotspot/user", {"name": "h2", "password": "pw-h2"})
    await world.subscriber(username="taken")
    return {"ppp": ppp, "hot": hot, "fiber": fiber}


async def router_row(world: World) -> Router:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        found = await session.get(Router, world.router["id"])
        assert found is not None
        return found


async def subscribers(world: World) -> dict[str, Subscriber]:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.router_id == world.router["id"])
        return {s.username: s for s in (await session.scalars(query)).all()}


async def plan_for(world: World) -> AdoptionPlan:
    assert world.deps is not None and world.owner.tenant_id is not None
    return await preview(
        world.deps, tenant_id=world.owner.tenant_id, router=await router_row(world)
    )


async def test_dry_run_previews_everything_and_writes_nothing(world: World) -> None:
    names = await seed(world)
    before = {path: world.sim.rows(path) for path in ("/ppp/secret", "/ppp/profile")}
    world.sim.reset_command_log()
    plan = await plan_for(world)
    assert writes(world) == []
    assert world.sim.command_log == [
        "/ppp/secret/print",
        "/ppp/profile/print",
        "/ip/hotspot/user/print",
        "/ip/hotspot/user/profile/print",
    ]
    assert {path: world.sim.rows(path) for path in before} == before
    assert set(await subscribers(world)) == {"taken", "mine"}
    assert sorted(c.login.name for c in plan.candidates) == ["h1", "u1", "u2"]
    gaps = {(g.service, g.profile): g.users for g in plan.gaps}
    assert gaps == {("pppoe", "legacy"): 2, ("hotspot", "default"): 1}
    skipped = {s.name: s.reason for s in plan.skipped}
    assert set(skipped) == {"vpn1", "taken"}
    assert "l2tp" in skipped["vpn1"] and "already used on this router" in skipped["taken"]
    takeovers = {t.existing.name: t.rate_change for t in plan.takeovers}
    assert takeovers == {names["ppp"]: "rate-limit 5M/5M -> 10M/5M", names["hot"]: None}
    assert plan.already_ours == 1


async def test_adoption_tags_the_logins_and_leaves_rows_synced(world: World) -> None:
    names = await seed(world)
    assert world.deps is not None and world.owner.tenant_id is not None
    tenant = world.owner.tenant_id
    plan = await plan_for(world)
    result = await adopt(world.deps, await router_row(world), plan, actor="ops@isp.test")
    assert result.failed == [] and result.stopped is None
    assert sorted(a.candidate.login.name for a in result.adopted) == ["h1", "u1", "u2"]
    rows = await subscribers(world)
    for name in ("u1", "u2", "h1"):
        row = rows[name]
        assert (row.sync_status, row.desired_version, row.synced_version) == ("synced", 1, 1)
        tag = f"mikrosync:t={tenant}:s={row.id}"
        path = "/ip/hotspot/user" if name == "h1" else "/ppp/secret"
        [login] = world.rows(path, name=name)
        assert login["comment"] == tag
        events = await world.call("GET", f"/subscribers/{row.id}/events")
        assert (
            events[0]["outcome"] == "succeeded" and "imported from router" in events[0]["message"]
        )
    assert rows["u1"].remote_address == "10.9.0.1" and rows["u1"].service == "pppoe"
    assert rows["u2"].is_suspended and rows["u2"].suspend_reason == "manual"
    assert not rows["u1"].is_suspended
    assert rows["h1"].service == "hotspot"
    assert rows["h1"].package_id == world.packages["hotspot"]["id"]
    assert world.deps.vault.decrypt(rows["u1"].password_encrypted or "") == "pw-u1"
    [u1] = world.rows("/ppp/secret", name="u1")
    assert u1["service"] == "pppoe" and u1["password"] == "pw-u1"
    assert world.rows("/ppp/secret", name="u2")[0]["disabled"] == "true"
    [profile] = world.rows("/ppp/profile", name=names["ppp"])
    assert profile["rate-limit"] == "10M/5M"
    assert profile["comment"] == f"mikrosync:t={tenant}:p={names['fiber']['id']}"
    for name, comment in (("old1", "cash"), ("old2", None), ("vpn1", None), ("taken", None)):
        assert world.rows("/ppp/secret", name=name)[0].get("comment") == comment
    assert world.rows("/ppp/profile", name="legacy")[0].get("comment") is None
    assert world.rows("/ip/hotspot/user", name="h2")[0].get("comment") is None
    assert set(rows) == {"taken", "mine", "u1", "u2", "h1"}


async def test_a_converge_of_an_adopted_subscriber_writes_nothing(world: World) -> None:
    await seed(world)
    assert world.deps is not None
    await adopt(world.deps, await router_row(world), await plan_for(world), actor="test")
    rows = await subscribers(world)
    for name, job in (("u1", "retry"), ("u2", "retry"), ("h1", "retry")):
        assert await world.converge(rows[name].id) == Outcome.SKIPPED
        await world.call("POST", f"/subscribers/{rows[name].id}/retry")
        world.sim.reset_command_log()
        assert await world.converge(rows[name].id, job) == Outcome.SUCCEEDED
        assert writes(world) == [], name
        events = await world.call("GET", f"/subscribers/{rows[name].id}/events")
        assert events[0]["message"] == "router already matched"


async def test_a_second_run_finds_nothing_new(world: World) -> None:
    await seed(world)
    assert world.deps is not None
    await adopt(world.deps, await router_row(world), await plan_for(world), actor="test")
    again = await plan_for(world)
    assert again.candidates == [] and again.takeovers == []
    assert again.already_ours == 4
    assert {(g.profile, g.users) for g in again.gaps} == {("legacy", 2), ("default", 1)}


@pytest.mark.parametrize("path", ["/ppp/secret/set", "/ppp/profile/set"])
async def test_a_refused_tag_leaves_no_half_adopted_subscriber(world: World, path: str) -> None:
    await seed(world)
    assert world.deps is not None
    plan = await plan_for(world)
    world.sim.trap_next(path, message="failure: simulated refusal")
    result = await adopt(world.deps, await router_row(world), plan, actor="test")
    failed: dict[str, Any] = {s.name: s.reason for s in result.failed}
    if path == "/ppp/profile/set":
        assert set(failed) == {"u1", "u2"}  # both need the profile that was refused
    else:
        assert len(failed) == 1 and set(failed) <= {"u1", "u2"}
    assert all("simulated refusal" in reason for reason in failed.values())
    rows = await subscribers(world)
    for name in failed:
        assert name not in rows
        assert world.rows("/ppp/secret", name=name)[0].get("comment") is None
    adopted = {a.candidate.login.name for a in result.adopted}
    assert adopted == {"u1", "u2", "h1"} - set(failed)
    assert all(rows[name].sync_status == "synced" for name in adopted)
