"""Injecting the plan's faults while the load runs, and healing everything afterwards.

Router faults use the simulator's knobs; Redis faults hit the run's private redis-server;
worker faults SIGKILL a `mikrosync worker` and start a new one. Faults that last (a router
down, a latency spike, a worker or Redis away) heal themselves after their duration; one at a
time per router, per worker and for Redis, so "down then up" stays well defined.
`api_crash` faults are carried out by the operators (see load.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from mikrosync.simulator import SimRouter
from tests.chaos.infra import RedisServer, WorkerProcess
from tests.chaos.load import Progress
from tests.chaos.plan import FaultKind, FaultSpec

TRAP_MESSAGE = "failure: chaos-trap"


@dataclass
class FaultRunner:
    sims: list[SimRouter]
    redis: RedisServer
    workers: list[WorkerProcess]
    injected: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _router_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    _worker_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    _redis_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, faults: list[FaultSpec], progress: Progress) -> None:
        for fault in sorted(faults, key=lambda f: (f.at_op, f.index)):
            if fault.kind == FaultKind.API_CRASH:
                continue  # the operators carry these out
            await progress.reach(fault.at_op)
            self._tasks.append(asyncio.create_task(self._inject(fault)))
        await asyncio.gather(*self._tasks)

    async def _inject(self, fault: FaultSpec) -> None:
        try:
            await self._apply(fault)
        except Exception as exc:  # a harness problem, reported rather than hidden
            self.errors.append(f"fault {fault.index} {fault.kind}: {type(exc).__name__}: {exc}")

    async def _apply(self, fault: FaultSpec) -> None:
        kind = fault.kind
        if kind in (FaultKind.ROUTER_DOWN, FaultKind.LATENCY):
            await self._lasting_router_fault(fault)
        elif kind in (FaultKind.REDIS_FLUSHALL, FaultKind.REDIS_RESTART, FaultKind.WORKER_KILL):
            await self._process_fault(fault)
        else:
            self._command_fault(fault)

    async def _lasting_router_fault(self, fault: FaultSpec) -> None:
        sim = self.sims[fault.router]
        async with self._router_locks.setdefault(fault.router, asyncio.Lock()):
            self.injected[str(fault.kind)] += 1
            if fault.kind == FaultKind.ROUTER_DOWN:
                await sim.go_down()
                await asyncio.sleep(fault.duration_s)
                await sim.come_up()
            else:
                sim.set_latency(fault.latency_ms)
                await asyncio.sleep(fault.duration_s)
                sim.set_latency(0)

    def _command_fault(self, fault: FaultSpec) -> None:
        """Armed on the router for its next matching commands (whoever sends them)."""
        sim = self.sims[fault.router]
        kind = fault.kind
        if kind == FaultKind.GHOST:
            sim.ghost_next(fault.n, path=fault.path)
        elif kind == FaultKind.DROP:
            sim.drop_next(fault.n, path=fault.path)
        elif kind == FaultKind.FATAL:
            sim.fatal_next(fault.n, message="chaos: session terminated", path=fault.path)
        elif kind == FaultKind.STALL:
            sim.stall_next(fault.n, path=fault.path)
        elif kind == FaultKind.TRAP:
            # No path means "the next command, whatever it is".
            sim.trap_next(fault.path or "/", fault.n, message=TRAP_MESSAGE, category=fault.category)
        label = str(kind)
        if kind == FaultKind.TRAP:
            label += " (transient)" if fault.category == 2 else " (permanent)"
        self.injected[label] += 1

    async def _process_fault(self, fault: FaultSpec) -> None:
        if fault.kind == FaultKind.WORKER_KILL:
            async with self._worker_locks.setdefault(fault.worker, asyncio.Lock()):
                self.injected[str(fault.kind)] += 1
                worker = self.workers[fault.worker]
                worker.kill()
                await asyncio.sleep(fault.duration_s)
                worker.start()
            return
        async with self._redis_lock:
            self.injected[str(fault.kind)] += 1
            if fault.kind == FaultKind.REDIS_FLUSHALL:
                await self.redis.flushall()
            else:
                await self.redis.restart(fault.duration_s)

    async def heal(self) -> list[int]:
        """Everything back to normal; returns how many armed faults never fired, per router."""
        unfired = [sum(f.remaining for f in sim.faults.armed) for sim in self.sims]
        for sim in self.sims:
            sim.clear_faults()
            sim.set_latency(0)
            await sim.come_up()
        if self.redis.process is None or self.redis.process.poll() is not None:
            await self.redis.start()
        for worker in self.workers:
            if not worker.alive and not worker.supervise():
                worker.start()
        return unfired
