"""Live sessions: dial-in hook, kicks, last-logged-out, advancing counters, the dialer."""

from __future__ import annotations

import asyncio
from typing import Any

from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from tests.plugins.simulator import collect, freeze_clock


async def test_dial_in_creates_active_entry_never_for_disabled_or_missing(sim: SimRouter) -> None:
    sim.add_row("/ppp/secret", {"name": "alice", "service": "pppoe", "remote-address": "10.1.1.1"})
    sim.add_row("/ppp/secret", {"name": "off", "disabled": "true"})
    assert sim.dial_in("ppp", "alice")
    assert not sim.dial_in("ppp", "alice")  # already online
    assert not sim.dial_in("ppp", "off")
    assert not sim.dial_in("ppp", "ghost")
    [active] = sim.rows("/ppp/active")
    assert active[".id"] == "*80000001"
    assert (active["name"], active["service"], active["address"]) == ("alice", "pppoe", "10.1.1.1")


async def test_uptime_and_counters_advance(sim: SimRouter, api: Any) -> None:
    now = freeze_clock(sim)
    sim.add_row("/ip/hotspot/user", {"name": "guest"})
    assert sim.dial_in("hotspot", "guest")
    now[0] += 3725
    [active] = await collect(api, "/ip/hotspot/active/print")
    assert active["user"] == "guest"
    assert active["uptime"] == "1h2m5s"
    assert active["bytes-in"] > 0
    [resource] = await collect(api, "/system/resource/print")
    assert resource["uptime"] == "1h2m5s"


async def test_api_remove_of_active_kicks_and_stamps_secret(sim: SimRouter, api: Any) -> None:
    sim.add_row("/ppp/secret", {"name": "alice"})
    sim.dial_in("ppp", "alice")
    [active] = await collect(api, "/ppp/active/print")
    await api.path("ppp", "active").remove(active[".id"])
    assert sim.rows("/ppp/active") == []
    [secret] = sim.rows("/ppp/secret")
    assert secret["last-logged-out"][:2] == "20"
    assert secret["last-disconnect-reason"] == "admin-request"
    assert secret["last-caller-id"] == active["caller-id"]


async def test_kick_hook_and_old_date_format() -> None:
    async with running_router(version="6.49") as old:
        old.add_row("/ppp/secret", {"name": "alice"})
        assert old.dial_in("ppp", "alice")
        assert old.kick("ppp", "alice", reason="hung-up")
        assert not old.kick("ppp", "alice")
        [secret] = old.rows("/ppp/secret")
        assert secret["last-disconnect-reason"] == "hung-up"
        month = secret["last-logged-out"].split("/")[0]
        assert month.isalpha()
        assert month.islower()  # e.g. may/01/2023 20:52:13


async def test_hotspot_kick_accumulates_user_bytes(sim: SimRouter) -> None:
    now = freeze_clock(sim)
    sim.add_row("/ip/hotspot/user", {"name": "guest"})
    sim.dial_in("hotspot", "guest")
    now[0] += 10
    assert sim.kick("hotspot", "guest")
    [user] = sim.rows("/ip/hotspot/user")
    assert int(user["bytes-in"]) > 0


async def test_background_dialer_brings_enabled_users_online() -> None:
    async with running_router(dial_rate=500.0) as sim:
        for i in range(5):
            sim.add_row("/ppp/secret", {"name": f"u{i}"})
        sim.add_row("/ppp/secret", {"name": "off", "disabled": "true"})
        sim.add_row("/ip/hotspot/user", {"name": "guest"})
        async with asyncio.timeout(3):
            while len(sim.rows("/ppp/active")) + len(sim.rows("/ip/hotspot/active")) < 6:
                await asyncio.sleep(0.01)
        assert "off" not in {r["name"] for r in sim.rows("/ppp/active")}
        sim.set_dial_rate(0)
