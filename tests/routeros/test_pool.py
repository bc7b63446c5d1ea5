"""Session pool: bounded, reused, shared per router through the registry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from mikrosync.routeros import PoolClosed, PoolRegistry, RouterClient, RouterConfig
from mikrosync.simulator import SimRouter

ConfigFactory = Callable[..., RouterConfig]


async def test_sessions_are_reused(ros: RouterClient) -> None:
    for _ in range(5):
        await ros.identity()
    assert ros.pool.opened == 1
    assert ros.pool.idle_count == 1


async def test_concurrency_is_bounded_by_max_sessions(
    registry: PoolRegistry, make_config: ConfigFactory, sim: SimRouter
) -> None:
    sim.set_latency(20)
    ros = registry.client(make_config(max_sessions=2))
    peak = 0

    async def call() -> None:
        nonlocal peak
        await ros.identity()
        peak = max(peak, sim.session_count)

    await asyncio.gather(*(call() for _ in range(10)))
    assert ros.pool.opened == 2
    assert peak <= 2


async def test_registry_shares_one_pool_per_router(
    registry: PoolRegistry, make_config: ConfigFactory
) -> None:
    first = registry.client(make_config())
    second = registry.client(make_config())
    assert first.pool is second.pool
    await first.identity()
    await second.identity()
    assert first.pool.opened == 1
    assert len(registry) == 1


async def test_changed_password_gets_a_new_pool_and_old_one_is_closed(
    registry: PoolRegistry, make_config: ConfigFactory, sim: SimRouter
) -> None:
    old = registry.client(make_config())
    await old.identity()
    new = registry.client(make_config(password="pw", command_timeout=2.0))
    assert new.pool is not old.pool and len(registry) == 1
    await new.identity()
    await registry.close()
    assert old.pool.idle_count == 0 and new.pool.idle_count == 0
    async with asyncio.timeout(1):  # the simulator notices the EOFs within a few loop turns
        while sim.session_count:
            await asyncio.sleep(0.01)


async def test_closed_pool_refuses_work(ros: RouterClient) -> None:
    await ros.identity()
    await ros.pool.close()
    with pytest.raises(PoolClosed):
        await ros.identity()


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        RouterConfig(host="r", username="u", password="p", max_sessions=0)
    with pytest.raises(ValueError):
        RouterConfig(host="r", username="u", password="p", command_timeout=0)
    assert "secret-pw" not in repr(RouterConfig(host="r", username="u", password="secret-pw"))
