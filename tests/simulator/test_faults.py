"""Realism and fault knobs: latency, CPU serialisation, session limit, down/up, stall, drop,
ghost success, `!fatal` and forced traps."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import librouteros
import pytest
from librouteros.exceptions import ConnectionClosed, FatalError, TrapError

from mikrosync.simulator import SimRouter
from tests.plugins.simulator import PASSWORD, RawClient, collect


async def connect(sim: SimRouter, **kwargs: Any) -> Any:
    return await librouteros.async_connect("127.0.0.1", "admin", PASSWORD, port=sim.port, **kwargs)


async def test_latency_delays_each_reply(sim: SimRouter, api: Any) -> None:
    sim.set_latency(60)
    started = time.perf_counter()
    await collect(api, "/system/identity/print")
    assert time.perf_counter() - started >= 0.06
    sim.set_latency(0)


async def test_connect_and_login_cost_two_round_trips(sim: SimRouter) -> None:
    """The TCP handshake and the `/login` exchange each take one RTT, as on a network."""
    sim.set_latency(150)  # long, so that a loaded machine's delays stay below one RTT
    started = time.perf_counter()
    client = await RawClient.open(sim)
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    await client.call("/system/identity/print")
    elapsed = time.perf_counter() - started
    assert 0.15 <= elapsed < 0.3  # an open connection pays one RTT per command
    await client.close()
    sim.set_latency(0)
    started = time.perf_counter()
    await (await RawClient.open(sim)).close()
    assert time.perf_counter() - started < 0.06


async def test_service_time_is_serialised_across_connections(sim: SimRouter) -> None:
    clients = [await RawClient.open(sim) for _ in range(3)]
    sim.set_service_time(40)
    started = time.perf_counter()
    await asyncio.gather(*(c.call("/system/identity/print") for c in clients))
    assert time.perf_counter() - started >= 0.12  # 3 x 40 ms, one at a time
    for client in clients:
        await client.close()


async def test_max_sessions_accepts_then_closes(sim: SimRouter) -> None:
    sim.set_max_sessions(2)
    kept = [await connect(sim), await connect(sim)]
    with pytest.raises((ConnectionClosed, ConnectionResetError)):
        await connect(sim)
    await kept[0].close()
    while sim.session_count >= 2:  # the router notices the close on its next read
        await asyncio.sleep(0.005)
    third = await connect(sim)
    for api in (kept[1], third):
        await api.close()


async def test_down_refuses_and_up_returns_on_same_port(sim: SimRouter) -> None:
    api = await connect(sim)
    port = sim.port
    await sim.go_down()
    with pytest.raises(ConnectionRefusedError):
        await connect(sim)
    with pytest.raises((ConnectionClosed, ConnectionResetError, BrokenPipeError)):
        await collect(api, "/system/identity/print")
    await api.close()
    await sim.come_up()
    assert sim.port == port
    again = await connect(sim)
    assert await collect(again, "/system/identity/print") == [{"name": "MikroTik"}]
    await again.close()


async def test_stall_times_out_the_client_and_applies_nothing(sim: SimRouter) -> None:
    api = await connect(sim, timeout=0.2)
    sim.stall_next()
    with pytest.raises(TimeoutError):
        await api.path("ppp", "secret").add(name="alice")
    await api.close()
    assert sim.rows("/ppp/secret") == []


async def test_drop_applies_and_cuts_mid_reply(sim: SimRouter) -> None:
    raw = await RawClient.open(sim)
    sim.drop_next()
    await raw.send("/ppp/secret/add", "=name=alice")
    data = await raw.reader.read()
    assert 0 < len(data) < len(b"\x05!done\x07=ret=*1\x00")
    await raw.close()
    assert [r["name"] for r in sim.rows("/ppp/secret")] == ["alice"]


async def test_ghost_success_applies_then_closes_without_reply(sim: SimRouter, api: Any) -> None:
    sim.ghost_next(path="/ppp/secret/add")
    await collect(api, "/system/identity/print")  # other paths are not affected
    with pytest.raises(ConnectionClosed):
        await api.path("ppp", "secret").add(name="alice")
    assert [r["name"] for r in sim.rows("/ppp/secret")] == ["alice"]


async def test_fatal_injection(sim: SimRouter, api: Any) -> None:
    sim.fatal_next(message="out of memory")
    with pytest.raises(FatalError, match="out of memory"):
        await collect(api, "/ppp/secret/print")


async def test_trap_next_matches_path_prefix_for_n_commands(sim: SimRouter, api: Any) -> None:
    sim.trap_next("/ppp/secret", n=2, message="failure: busy", category=4)
    secrets = api.path("ppp", "secret")
    for _ in range(2):
        with pytest.raises(TrapError) as info:
            await secrets.add(name="alice")
        assert (info.value.message, info.value.category) == ("failure: busy", 4)
    assert await secrets.add(name="alice") == "*1"


async def test_clear_faults(sim: SimRouter, api: Any) -> None:
    sim.fatal_next(n=5)
    sim.clear_faults()
    assert await collect(api, "/system/identity/print") == [{"name": "MikroTik"}]


async def test_command_log_counts_executed_commands(sim: SimRouter, api: Any) -> None:
    sim.reset_command_log()
    await api.path("ppp", "secret").add(name="a")
    await collect(api, "/ppp/secret/print")
    assert sim.command_log == ["/ppp/secret/add", "/ppp/secret/print"]
