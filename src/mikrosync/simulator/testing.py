"""Test helper: a simulated router on 127.0.0.1, on a free port, for one `async with` block.

async with running_router(password="pw") as sim:
    api = await librouteros.async_connect("127.0.0.1", "admin", "pw", port=sim.port)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.server import SimRouter

__all__ = ["running_router"]


@asynccontextmanager
async def running_router(**config: Any) -> AsyncIterator[SimRouter]:
    """Start a `SimRouter(SimConfig(**config))` on 127.0.0.1:0 (TLS too if `tls=True`)."""
    sim = SimRouter(SimConfig(**config))
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()
