"""The demo's simulated network: K routers with realistic latency, users dialing in, and one
flaky router that drops off now and then. Router state is kept in the data dir between runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from mikrosync.simulator import SimConfig, SimRouter

log = logging.getLogger(__name__)

ROUTER_USER = "api"
ROUTER_PASSWORD = "demo-router-pw"
LATENCY_MS = 8.0
SERVICE_MS = 0.5
DIAL_RATE = 2.0
# The flaky router: first outage after FLAKY_START_S, then down for FLAKY_DOWN_S every
# FLAKY_PERIOD_S, so its subscribers visibly wait and catch up.
FLAKY_START_S = 45.0
FLAKY_PERIOD_S = 60.0
FLAKY_DOWN_S = 12.0
# A PPP login added by hand (untagged) on the first router of a new network; the demo seeds a
# subscriber of the same name, which mikrosync then refuses to take over (shown in Error).
HANDMADE_LOGIN = "handmade"


@dataclass
class DemoNetwork:
    state_dir: Path
    routers: list[SimRouter] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    _flaky: asyncio.Task[None] | None = None

    def state_file(self, name: str) -> Path:
        return self.state_dir / f"router-{name}.json"

    async def start(self, count: int) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            name = f"tower-{index + 1}"
            sim = SimRouter(
                SimConfig(
                    username=ROUTER_USER,
                    password=ROUTER_PASSWORD,
                    identity=name,
                    latency_ms=LATENCY_MS,
                    service_ms=SERVICE_MS,
                    dial_rate=DIAL_RATE,
                    seed=index,
                )
            )
            state = self.state_file(name)
            if state.exists():
                sim.load_state(json.loads(state.read_text()))
            elif index == 0:
                sim.add_row("/ppp/secret", {"name": HANDMADE_LOGIN, "password": "by-hand"})
            await sim.start(host="127.0.0.1", port=0)
            self.routers.append(sim)
            self.names.append(name)
        if count > 1:
            self._flaky = asyncio.create_task(self._flap(self.routers[-1], self.names[-1]))

    @property
    def flaky_name(self) -> str | None:
        return self.names[-1] if len(self.names) > 1 else None

    async def _flap(self, sim: SimRouter, name: str) -> None:
        await asyncio.sleep(FLAKY_START_S)
        while True:
            log.info("demo: router %s drops off", name)
            await sim.go_down()
            await asyncio.sleep(FLAKY_DOWN_S)
            await sim.come_up()
            log.info("demo: router %s is back", name)
            await asyncio.sleep(FLAKY_PERIOD_S - FLAKY_DOWN_S)

    async def stop(self) -> None:
        if self._flaky is not None:
            self._flaky.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flaky
        for sim, name in zip(self.routers, self.names, strict=True):
            with contextlib.suppress(OSError):
                self.state_file(name).write_text(json.dumps(sim.dump_state()))
            await sim.stop()
