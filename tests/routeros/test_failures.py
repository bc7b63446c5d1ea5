"""Every error class, provoked on the simulator over real TCP, and how the pool recovers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mikrosync.routeros import (
    AuthError,
    ConnectError,
    ConnectionLost,
    FatalError,
    OwnerTag,
    PermanentRouterError,
    PermanentTrap,
    PppSecret,
    RouterClient,
    RouterConfig,
    RouterTimeout,
    SessionLimit,
    TransientRouterError,
    TransientTrap,
)
from mikrosync.routeros.pool import RouterPool
from mikrosync.simulator import SimRouter

ConfigFactory = Callable[..., RouterConfig]
TAG = OwnerTag.subscriber(1, 1).render()
ALICE = PppSecret(name="alice", password="pw", profile="default", comment=TAG)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers: a login that hangs."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_stall_ends_in_timeout_and_the_session_is_not_reused(
    ros: RouterClient, sim: SimRouter
) -> None:
    await ros.identity()
    sim.stall_next()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RouterTimeout) as caught:
        await ros.identity()
    assert loop.time() - started < ros.pool.config.command_timeout * 3
    assert isinstance(caught.value, TransientRouterError)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert ros.pool.idle_count == 0
    assert await ros.identity() == "MikroTik"
    assert ros.pool.opened == 2


async def test_connection_dropped_mid_reply_is_connection_lost(
    ros: RouterClient, sim: SimRouter
) -> None:
    sim.add_row("/ppp/secret", {"name": "alice", "password": "pw", "comment": TAG})
    sim.drop_next(path="/ppp/secret/print")
    with pytest.raises(ConnectionLost) as caught:
        await ros.find(PppSecret, "alice")
    assert caught.value.__cause__ is not None
    assert await ros.find(PppSecret, "alice") is not None


async def test_ghost_success_then_retried_ensure_converges(
    ros: RouterClient, sim: SimRouter
) -> None:
    sim.ghost_next(path="/ppp/secret/add")
    with pytest.raises(ConnectionLost):
        await ros.ensure(ALICE)
    assert [row["name"] for row in sim.rows("/ppp/secret")] == ["alice"]  # it was applied
    retried = await ros.ensure(ALICE)
    assert retried.action == "unchanged" and not retried.changed
    assert len(sim.rows("/ppp/secret")) == 1


async def test_add_refused_as_duplicate_adopts_the_existing_object(
    ros: RouterClient, sim: SimRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone adds "alice" between our print and our add: make the first print miss her.
    sim.add_row("/ppp/secret", {"name": "alice", "password": "old", "comment": TAG})
    real_select = ros._select
    calls: list[object] = []

    async def first_print_misses(*args: Any) -> Any:
        calls.append(args)
        return [] if len(calls) == 1 else await real_select(*args)

    monkeypatch.setattr(ros, "_select", first_print_misses)
    result = await ros.ensure(ALICE)
    assert result.action == "updated" and result.changed_fields == ("password",)
    assert ros.write_log == ["/ppp/secret/add", "/ppp/secret/set"]
    assert [row["password"] for row in sim.rows("/ppp/secret")] == ["pw"]


async def test_duplicate_trap_without_an_object_is_reported(
    ros: RouterClient, sim: SimRouter
) -> None:
    sim.trap_next("/ppp/secret/add", message="failure: secret with the same name already exists")
    with pytest.raises(PermanentTrap, match="already exists"):
        await ros.ensure(ALICE)


async def test_fatal_is_transient_with_the_routers_words(ros: RouterClient, sim: SimRouter) -> None:
    sim.fatal_next(message="out of memory")
    with pytest.raises(FatalError) as caught:
        await ros.identity()
    assert caught.value.message == "out of memory"
    assert isinstance(caught.value, TransientRouterError)
    assert await ros.identity() == "MikroTik"


async def test_session_limit_is_transient(
    ros: RouterClient, sim: SimRouter, make_config: ConfigFactory
) -> None:
    sim.set_max_sessions(1)
    async with ros.pool.connection() as held:
        await held.run("/system/identity/print")
        with pytest.raises(SessionLimit) as caught:
            await ros.identity()  # needs a second session
    assert isinstance(caught.value, TransientRouterError)
    assert await ros.identity() == "MikroTik"  # the held session came back to the pool


async def test_router_restart_pool_reconnects(ros: RouterClient, sim: SimRouter) -> None:
    await ros.identity()
    assert ros.pool.idle_count == 1
    await sim.go_down()
    with pytest.raises(ConnectError):
        await ros.identity()
    await sim.come_up()
    assert await ros.identity() == "MikroTik"
    assert ros.pool.opened == 2


async def test_stale_pooled_session_is_retried_once_transparently(
    ros: RouterClient, sim: SimRouter
) -> None:
    await ros.identity()
    (session,) = ros.pool._idle
    session.looks_alive = lambda: True  # type: ignore[method-assign]  # as if EOF not seen yet
    await sim.go_down()
    await sim.come_up()
    assert await ros.identity() == "MikroTik"
    assert ros.pool.opened == 2


async def test_refused_connection_is_connect_error(make_config: ConfigFactory) -> None:
    pool = RouterPool(make_config(port=free_port()))
    with pytest.raises(ConnectError) as caught:
        await RouterClient(pool).identity()
    assert isinstance(caught.value.__cause__, OSError)
    await pool.close()


async def test_login_that_never_answers_times_out(
    make_config: ConfigFactory, silent_server: int
) -> None:
    pool = RouterPool(make_config(port=silent_server, connect_timeout=0.3))
    with pytest.raises(RouterTimeout, match="login"):
        await RouterClient(pool).identity()
    await pool.close()


async def test_bad_password_is_auth_error(make_config: ConfigFactory) -> None:
    pool = RouterPool(make_config(password="wrong"))
    with pytest.raises(AuthError) as caught:
        await RouterClient(pool).identity()
    assert caught.value.message == "invalid user name or password (6)"
    assert isinstance(caught.value, PermanentRouterError)
    await pool.close()


async def test_unknown_profile_is_permanent_trap_with_category(
    ros: RouterClient, sim: SimRouter
) -> None:
    with pytest.raises(PermanentTrap) as caught:
        await ros.ensure(PppSecret(name="x", profile="no-such-plan", comment=TAG))
    assert caught.value.message == "input does not match any value of profile"
    assert caught.value.category == 1
    assert caught.value.command == "/ppp/secret/add"
    assert ros.pool.opened == 1 and ros.pool.idle_count == 1  # session still in step


async def test_unknown_menu_multitrap_is_permanent(ros: RouterClient) -> None:
    with pytest.raises(PermanentTrap, match="no such command") as caught:
        await ros.pool.run(lambda s: s.run("/routing/nonsense/print"))
    assert caught.value.category == 0


async def test_interrupted_trap_is_transient(ros: RouterClient, sim: SimRouter) -> None:
    sim.trap_next("/ppp/secret/print", message="interrupted", category=2)
    with pytest.raises(TransientTrap) as caught:
        await ros.find(PppSecret, "alice")
    assert (caught.value.message, caught.value.category) == ("interrupted", 2)
    assert await ros.find(PppSecret, "alice") is None
    assert ros.pool.opened == 1
