"""How many router commands a converge sends (bench item 4), and that the shortcuts keep the
checks that matter. Real database (both backends), the simulator over TCP."""

from __future__ import annotations

import pytest

from mikrosync.routeros import PoolRegistry, PppProfile, RouterConfig
from mikrosync.sync.converge import Outcome
from mikrosync.sync.errors import PermanentError
from tests.plugins.sync import ROUTER_PASSWORD, World


async def technician_removes_profile(world: World, name: str) -> None:
    """Another API user (a technician's script) deletes the profile behind our back."""
    registry = PoolRegistry()
    try:
        config = RouterConfig(
            host="127.0.0.1", port=world.sim.port, username="admin", password=ROUTER_PASSWORD
        )
        result = await registry.client(config).remove(PppProfile, name, force=True)
        assert result.action == "removed"
    finally:
        await registry.close()


async def test_a_creation_is_one_add_once_the_profile_is_known(world: World) -> None:
    first = await world.subscriber(username="first")
    assert await world.converge(first["id"]) == Outcome.SUCCEEDED
    world.sim.reset_command_log()
    second = await world.subscriber(username="second")
    assert await world.converge(second["id"]) == Outcome.SUCCEEDED
    assert world.sim.command_log == ["/ppp/secret/add"]
    assert world.rows("/ppp/secret", name="second")[0]["comment"].endswith(f":s={second['id']}")


async def test_a_profile_deleted_behind_our_back_is_made_again(world: World) -> None:
    first = await world.subscriber(username="before")
    await world.converge(first["id"])
    profile = world.packages["pppoe"]["profile_name"]
    await technician_removes_profile(world, profile)
    assert world.rows("/ppp/profile", name=profile) == []
    later = await world.subscriber(username="after")
    # The remembered profile is skipped, the router refuses the login's unknown profile, and
    # the plan runs once more with the profile verified: no error, no extra job attempt.
    assert await world.converge(later["id"]) == Outcome.SUCCEEDED
    assert world.rows("/ppp/profile", name=profile)[0]["rate-limit"] == "10M/5M"
    assert world.rows("/ppp/secret", name="after")[0]["profile"] == profile
    assert (await world.get(later["id"]))["sync_status"] == "synced"


async def test_creation_next_to_a_foreign_login_adds_nothing_and_touches_nothing(
    world: World,
) -> None:
    world.sim.add_row("/ppp/secret", {"name": "theirs", "password": "x", "comment": "billing"})
    created = await world.subscriber(username="theirs")
    world.sim.reset_command_log()
    with pytest.raises(PermanentError, match="not touching it"):
        await world.converge(created["id"])
    assert "/ppp/secret/set" not in world.sim.command_log
    [login] = world.rows("/ppp/secret", name="theirs")
    assert login["password"] == "x" and login["comment"] == "billing"


async def test_suspending_an_online_subscriber_verifies_the_session_is_gone(world: World) -> None:
    created = await world.subscriber(username="online")
    await world.converge(created["id"])
    assert world.sim.dial_in("ppp", "online")
    await world.call("POST", f"/subscribers/{created['id']}/suspend")
    world.sim.reset_command_log()
    assert await world.converge(created["id"], "disconnectUser") == Outcome.SUCCEEDED
    assert world.sim.command_log == [
        "/ppp/secret/print",  # the ownership check before the write
        "/ppp/secret/set",
        "/ppp/active/print",
        "/ppp/active/remove",
        "/ppp/active/print",  # no session is left
    ]
    assert world.rows("/ppp/active", name="online") == []
    assert not world.sim.dial_in("ppp", "online")


async def test_suspending_an_offline_subscriber_needs_no_second_look(world: World) -> None:
    created = await world.subscriber(username="offline")
    await world.converge(created["id"])
    await world.call("POST", f"/subscribers/{created['id']}/suspend")
    world.sim.reset_command_log()
    assert await world.converge(created["id"], "disconnectUser") == Outcome.SUCCEEDED
    # The print after the login was disabled found no session: that print is the check.
    assert world.sim.command_log == ["/ppp/secret/print", "/ppp/secret/set", "/ppp/active/print"]
    assert world.rows("/ppp/secret", name="offline")[0]["disabled"] == "true"
    assert not world.sim.dial_in("ppp", "offline")
