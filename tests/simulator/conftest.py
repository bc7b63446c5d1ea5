"""Fixtures for the simulator conformance suite.

The simulator runs on the test's event loop, so synchronous clients (librouteros `connect`,
RouterOS-api) are run in a worker thread with `asyncio.to_thread`. `RawClient` speaks bytes
directly for the golden-byte and protocol-edge tests (tests/plugins/simulator.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import librouteros
import pytest

from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from tests.plugins.simulator import PASSWORD, RawClient


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    """A fresh router per test (admin / pw)."""
    async with running_router(password=PASSWORD) as router:
        yield router


@pytest.fixture
async def api(sim: SimRouter) -> AsyncIterator[librouteros.api.AsyncApi]:
    """A logged-in librouteros async connection to `sim`."""
    connection = await librouteros.async_connect("127.0.0.1", "admin", PASSWORD, port=sim.port)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def raw(sim: SimRouter) -> AsyncIterator[RawClient]:
    """A logged-in raw client."""
    client = await RawClient.open(sim)
    try:
        yield client
    finally:
        await client.close()
