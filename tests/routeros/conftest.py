"""Fixtures: a simulated router (real TCP, plain + TLS) and a registry closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mikrosync.routeros import PoolRegistry, RouterClient, RouterConfig
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router

PASSWORD = "pw"

# Short, so fault tests stay fast; long enough for a loaded CI machine to answer a print.
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 0.5

ConfigFactory = Callable[..., RouterConfig]


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    async with running_router(username="admin", password=PASSWORD, tls=True) as router:
        yield router


@pytest.fixture
async def registry() -> AsyncIterator[PoolRegistry]:
    reg = PoolRegistry()
    yield reg
    await reg.close()


@pytest.fixture
def make_config(sim: SimRouter) -> ConfigFactory:
    """RouterConfig for the simulator's plain port; keyword overrides for the test at hand."""

    def make(**overrides: Any) -> RouterConfig:
        values: dict[str, Any] = {
            "host": sim.host,
            "port": sim.port,
            "username": "admin",
            "password": PASSWORD,
            "connect_timeout": CONNECT_TIMEOUT,
            "command_timeout": COMMAND_TIMEOUT,
        }
        values.update(overrides)
        return RouterConfig(**values)

    return make


@pytest.fixture
def ros(registry: PoolRegistry, make_config: ConfigFactory) -> RouterClient:
    """A RouterClient on the simulator (not `client`: tests/plugins/core.py has an HTTP one)."""
    return registry.client(make_config())
