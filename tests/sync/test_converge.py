"""converge_subscriber against the simulator over real TCP, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from mikrosync.sync.converge import Outcome
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.tenants.models import Tenant
from tests.plugins.sync import World


async def test_create_pppoe_puts_tagged_secret_and_profile_on_the_router(world: World) -> None:
    created = await world.subscriber(username="alice", password="alice-pw")
    assert await world.converge(created["id"]) == Outcome.SUCCEEDED
    package = world.packages["pppoe"]
    [secret] = world.rows("/ppp/secret", name="alice")
    assert secret["password"] == "alice-pw" and secret["service"] == "pppoe"
    assert secret["profile"] == package["profile_name"]
    assert secret["comment"] == f"mikrosync:t={world.owner.tenant_id}:s={created['id']}"
    assert secret["disabled"] == "false"
    [profile] = world.rows("/ppp/profile", name=package["profile_name"])
    assert profile["rate-limit"] == "10M/5M"
    row = await world.get(created["id"])
    assert row["sync_status"] == "synced" and row["synced_version"] == 1
    assert row["last_synced_at"] is not None
    events = await world.call("GET", f"/subscribers/{created['id']}/events")
    assert events[0]["outcome"] == "succeeded" and events[0]["operation"] == "addUser"
    assert "/ppp/secret/add" in events[0]["message"]
    assert events[0]["latency_ms"] is not None and events[0]["latency_ms"] >= 0


async def test_second_run_is_skipped_and_writes_nothing(world: World) -> None:
    created = await world.subscriber()
    await world.converge(created["id"])
    world.sim.reset_command_log()
    assert await world.converge(created["id"]) == Outcome.SKIPPED
    assert world.sim.command_log == []


async def test_package_change_swaps_profile_kicks_session_then_package(world: World) -> None:
    created = await world.subscriber(username="bob")
    await world.converge(created["id"])
    assert world.sim.dial_in("ppp", "bob")
    faster = await world.call(
        "POST",
        "/packages",
        json={"name": "Fast", "service": "pppoe", "rate_limit": "50M/20M"},
    )
    await world.call("PATCH", f"/subscribers/{created['id']}", json={"package_id": faster["id"]})
    assert await world.converge(created["id"], "updateUserPackage") == Outcome.SUCCEEDED
    assert world.rows("/ppp/secret", name="bob")[0]["profile"] == "fast"
    assert world.rows("/ppp/profile", name="fast")[0]["rate-limit"] == "50M/20M"
    assert world.rows("/ppp/active", name="bob") == []
    row = await world.get(created["id"])
    assert row["package_id"] == faster["id"] and row["pending_package_id"] is None
    assert row["sync_status"] == "synced"


async def test_suspend_disables_and_ends_session_connect_enables(world: World) -> None:
    created = await world.subscriber(username="carol")
    await world.converge(created["id"])
    world.sim.dial_in("ppp", "carol")
    await world.call("POST", f"/subscribers/{created['id']}/suspend")
    assert await world.converge(created["id"], "disconnectUser") == Outcome.SUCCEEDED
    assert world.rows("/ppp/secret", name="carol")[0]["disabled"] == "true"
    assert world.rows("/ppp/active", name="carol") == []
    assert not world.sim.dial_in("ppp", "carol")
    await world.call("POST", f"/subscribers/{created['id']}/connect")
    await world.converge(created["id"], "connectUser")
    assert world.rows("/ppp/secret", name="carol")[0]["disabled"] == "false"
    assert world.sim.dial_in("ppp", "carol")


async def test_tenant_suspension_profile_moves_instead_of_disabling(world: World) -> None:
    world.sim.add_row("/ppp/profile", {"name": "please-pay", "rate-limit": "64k/64k"})
    async with world.deps.sessionmaker() as session:
        await session.execute(
            update(Tenant)
            .where(Tenant.id == world.owner.tenant_id)
            .values(suspension_profile="please-pay")
        )
        await session.commit()
    created = await world.subscriber(username="dave")
    await world.call("POST", f"/subscribers/{created['id']}/suspend")
    await world.converge(created["id"], "disconnectUser")
    [secret] = world.rows("/ppp/secret", name="dave")
    assert secret["profile"] == "please-pay" and secret["disabled"] == "false"


async def test_delete_removes_router_objects_then_the_row(world: World) -> None:
    created = await world.subscriber(username="erin")
    await world.converge(created["id"])
    world.sim.dial_in("ppp", "erin")
    await world.client.delete(f"/api/v1/subscribers/{created['id']}", headers=world.owner.headers)
    assert await world.converge(created["id"], "removeUser") == Outcome.REMOVED
    assert world.rows("/ppp/secret", name="erin") == []
    assert world.rows("/ppp/active", name="erin") == []
    response = await world.client.get(
        f"/api/v1/subscribers/{created['id']}", headers=world.owner.headers
    )
    assert response.status_code == 404


async def test_hotspot_lifecycle(world: World) -> None:
    created = await world.subscriber("hotspot", username="guest1")
    await world.converge(created["id"])
    [user] = world.rows("/ip/hotspot/user", name="guest1")
    assert user["profile"] == world.packages["hotspot"]["profile_name"]
    assert world.rows("/ip/hotspot/user/profile", name=user["profile"])[0]["rate-limit"] == "2M/1M"
    assert world.sim.dial_in("hotspot", "guest1")
    await world.call("POST", f"/subscribers/{created['id']}/suspend")
    await world.converge(created["id"], "disconnectUser")
    assert world.rows("/ip/hotspot/user", name="guest1")[0]["disabled"] == "true"
    assert world.rows("/ip/hotspot/active", user="guest1") == []
    await world.client.delete(f"/api/v1/subscribers/{created['id']}", headers=world.owner.headers)
    assert await world.converge(created["id"], "removeUser") == Outcome.REMOVED
    assert world.rows("/ip/hotspot/user", name="guest1") == []


async def test_static_queue_and_block_list(world: World) -> None:
    created = await world.subscriber("static", username="shop", static_ip="10.9.0.7")
    await world.converge(created["id"])
    [queue] = world.rows("/queue/simple", name="shop")
    assert queue["target"].startswith("10.9.0.7") and queue["max-limit"] in (
        "20M/20M",
        "20000000/20000000",
    )
    await world.call("POST", f"/subscribers/{created['id']}/suspend")
    await world.converge(created["id"], "disconnectUser")
    [entry] = world.rows("/ip/firewall/address-list", list="mikrosync-blocked")
    assert entry["address"].startswith("10.9.0.7")
    await world.call("POST", f"/subscribers/{created['id']}/connect")
    await world.converge(created["id"], "connectUser")
    assert world.rows("/ip/firewall/address-list", list="mikrosync-blocked") == []
    await world.client.delete(f"/api/v1/subscribers/{created['id']}", headers=world.owner.headers)
    assert await world.converge(created["id"], "removeUser") == Outcome.REMOVED
    assert world.rows("/queue/simple", name="shop") == []


async def test_ghost_success_heals_on_retry(world: World) -> None:
    created = await world.subscriber(username="ghost", password="pw-1")
    await world.converge(created["id"])
    await world.call("PATCH", f"/subscribers/{created['id']}", json={"password": "pw-2"})
    world.sim.ghost_next(path="/ppp/secret/set")
    with pytest.raises(TemporaryError):
        await world.converge(created["id"], "updateUser", number=1, is_last=False)
    assert world.rows("/ppp/secret", name="ghost")[0]["password"] == "pw-2"
    assert (await world.get(created["id"]))["sync_status"] == "pending"
    world.sim.reset_command_log()
    outcome = await world.converge(created["id"], "updateUser", number=2, is_last=False)
    assert outcome == Outcome.SUCCEEDED
    assert "/ppp/secret/set" not in world.sim.command_log
    assert (await world.get(created["id"]))["sync_status"] == "synced"


async def test_ghost_success_of_a_creation_is_adopted(world: World) -> None:
    """A creation adds first. Its add applied with the reply lost is sent again (the pool's
    one retry on a fresh session), meets "already exists", and adopts the secret it made."""
    created = await world.subscriber(username="ghost-add")
    world.sim.ghost_next(path="/ppp/secret/add")
    assert await world.converge(created["id"], number=1, is_last=False) == Outcome.SUCCEEDED
    assert len(world.rows("/ppp/secret", name="ghost-add")) == 1
    assert (await world.get(created["id"]))["sync_status"] == "synced"


async def test_router_down_parks_pending_then_converges(world: World) -> None:
    created = await world.subscriber(username="patient")
    await world.sim.go_down()
    assert await world.converge(created["id"], is_last=False) == Outcome.WAITING
    row = await world.get(created["id"])
    assert row["sync_status"] == "pending" and row["sync_error_message"] is None
    router = await world.call("GET", f"/routers/{world.router['id']}")
    assert router["is_online"] is False and router["last_error"]
    events = await world.call("GET", f"/subscribers/{created['id']}/events")
    assert events[0]["outcome"] == "waiting"
    assert f"waiting for router {world.router['name']}" in events[0]["message"]
    await world.sim.come_up()
    world.deps.mark_up(world.router["id"])
    assert await world.converge(created["id"]) == Outcome.SUCCEEDED
    assert (await world.call("GET", f"/routers/{world.router['id']}"))["is_online"] is True


async def test_permanent_trap_is_error_with_router_words_until_retry(world: World) -> None:
    created = await world.subscriber(username="picky")
    world.sim.trap_next(
        path="/ppp/secret/add", message="invalid value for argument remote-address", category=1
    )
    with pytest.raises(PermanentError):
        await world.converge(created["id"], is_last=False)
    row = await world.get(created["id"])
    assert row["sync_status"] == "error"
    assert row["sync_error_message"] == "invalid value for argument remote-address"
    assert await world.converge(created["id"]) == Outcome.SKIPPED
    await world.call("POST", f"/subscribers/{created['id']}/retry")
    assert await world.converge(created["id"], "retry") == Outcome.SUCCEEDED
    assert (await world.get(created["id"]))["sync_status"] == "synced"


async def test_foreign_object_with_same_name_is_not_touched(world: World) -> None:
    world.sim.add_row(
        "/ppp/secret", {"name": "taken", "password": "theirs", "comment": "billing-system"}
    )
    created = await world.subscriber(username="taken")
    with pytest.raises(PermanentError):
        await world.converge(created["id"])
    row = await world.get(created["id"])
    assert row["sync_status"] == "error" and "taken" in row["sync_error_message"]
    assert world.rows("/ppp/secret", name="taken")[0]["password"] == "theirs"


async def test_router_timeout_retries_then_parks_pending_on_the_last_attempt(world: World) -> None:
    created = await world.subscriber(username="slow")
    world.sim.stall_next(path="/ppp/profile/print")
    with pytest.raises(TemporaryError):
        await world.converge(created["id"], number=1, is_last=False)
    world.sim.stall_next(path="/ppp/profile/print")
    assert await world.converge(created["id"], number=8, is_last=True) == Outcome.WAITING
    row = await world.get(created["id"])
    assert row["sync_status"] == "pending"


async def test_change_during_a_run_is_not_lost(world: World) -> None:
    created = await world.subscriber(username="racer", password="first-pw")
    world.sim.set_latency(150)
    run = asyncio.create_task(world.converge(created["id"]))
    while (await world.get(created["id"]))["sync_status"] != "syncing":
        await asyncio.sleep(0.01)
    await world.call("PATCH", f"/subscribers/{created['id']}", json={"password": "second-pw"})
    assert await run == Outcome.SUCCEEDED
    world.sim.set_latency(0)
    row = await world.get(created["id"])
    assert row["sync_status"] == "pending" and row["synced_version"] == 1
    assert row["desired_version"] == 2
    assert await world.converge(created["id"], "updateUser") == Outcome.SUCCEEDED
    assert world.rows("/ppp/secret", name="racer")[0]["password"] == "second-pw"
    assert (await world.get(created["id"]))["sync_status"] == "synced"


@pytest.mark.regression
async def test_removal_never_ends_a_foreign_logins_session(world: World) -> None:
    # Found by the chaos test: deleting a subscriber whose name belongs to a foreign login
    # (so its own secret was never created) ended the foreign user's session.
    world.sim.add_row(
        "/ppp/secret", {"name": "shared", "password": "theirs", "comment": "billing-system"}
    )
    assert world.sim.dial_in("ppp", "shared")
    created = await world.subscriber(username="shared")
    with pytest.raises(PermanentError):
        await world.converge(created["id"])
    await world.client.delete(f"/api/v1/subscribers/{created['id']}", headers=world.owner.headers)
    await world.call("POST", f"/subscribers/{created['id']}/retry")
    assert await world.converge(created["id"], "removeUser") == Outcome.REMOVED
    assert world.rows("/ppp/active", name="shared"), "the foreign user's session was ended"
    assert world.rows("/ppp/secret", name="shared")[0]["password"] == "theirs"
