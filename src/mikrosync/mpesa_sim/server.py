"""Serving the simulator on loopback: in-process for tests (`running_mpesa`), or as the
`mikrosync simulate-mpesa` command."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import uvicorn

from mikrosync.mpesa_sim.app import MpesaSim, SimConfig


@dataclass
class RunningSim:
    sim: MpesaSim
    url: str


@contextlib.asynccontextmanager
async def running_mpesa(
    config: SimConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[RunningSim]:
    """The simulator served over HTTP in this event loop until the block ends."""
    sim = MpesaSim(config or SimConfig(), transport=transport)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(
        uvicorn.Config(sim.app(), log_config=None, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        bound = sock.getsockname()
        yield RunningSim(sim, f"http://{bound[0]}:{bound[1]}")
    finally:
        with contextlib.suppress(Exception):
            await sim.idle(timeout=5)
        server.should_exit = True
        await task
        sock.close()


async def serve_forever(
    config: SimConfig, host: str, port: int, announce: Callable[[str], object]
) -> None:
    async with running_mpesa(config, host=host, port=port) as running:
        announce(f"M-Pesa simulator on {running.url} (shortcode {config.shortcode})")
        await asyncio.Event().wait()
