"""Running K routers in one process until a signal: the engine behind `simulate-router`.

Kept out of `cli/sim.py` so the CLI module only parses flags. Routers get consecutive ports
(and TLS ports), suffixed identities and suffixed state files; state is loaded at start when
the file exists and written back on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.server import SimRouter

__all__ = ["FleetPlan", "run_fleet"]


@dataclass(frozen=True)
class FleetPlan:
    """What the CLI asked for."""

    config: SimConfig
    host: str = "127.0.0.1"
    port: int = 8728
    tls_port: int | None = None
    count: int = 1
    state: Path | None = None
    seed_secrets: int = 0

    def member(self, index: int) -> tuple[SimConfig, int, int | None, Path | None]:
        """Config, port, TLS port and state file of router `index` (0-based)."""
        if self.count == 1:
            return self.config, self.port, self.tls_port, self.state
        config = replace(self.config, identity=f"{self.config.identity}-{index + 1}")
        port = self.port + index if self.port else 0
        tls_port = self.tls_port + index if self.tls_port else self.tls_port
        state = self.state
        if state is not None:
            state = state.with_name(f"{state.stem}-{index + 1}{state.suffix}")
        return config, port, tls_port, state


def _prepare(plan: FleetPlan, index: int) -> tuple[SimRouter, int, int | None, Path | None]:
    config, port, tls_port, state = plan.member(index)
    router = SimRouter(replace(config))
    if state is not None and state.exists():
        router.load_state(json.loads(state.read_text(encoding="utf-8")))
    router.seed_secrets(plan.seed_secrets)
    return router, port, tls_port, state


async def run_fleet(plan: FleetPlan, stop: asyncio.Event | None = None) -> None:
    """Start every router, print `listening on HOST:PORT` lines, serve until `stop` or a signal."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    members = [_prepare(plan, i) for i in range(plan.count)]
    started: list[SimRouter] = []
    try:
        for router, port, tls_port, _ in members:
            await router.start(host=plan.host, port=port, tls_port=tls_port)
            started.append(router)
            # The readiness line is the CLI's contract: exactly one `listening on` per router.
            print(f"listening on {router.host}:{router.port}", flush=True)  # noqa: T201
            if router.tls_port is not None:
                print(f"tls on {router.host}:{router.tls_port}", flush=True)  # noqa: T201
        await stop.wait()
    finally:
        for router in started:
            await router.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    for router, _, _, state in members:
        if state is not None:
            state.write_text(json.dumps(router.dump_state(), indent=1), encoding="utf-8")
    sys.stdout.flush()
