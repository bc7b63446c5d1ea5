"""Injecting the plan's faults while the load runs, and healing everything afterwards.

Router faults use the simulator's knobs; Redis faults hit the run's private redis-server;
worker faults SIGKILL a `mikrosync worker` and start a new one. Faults that last (a router
down, a latency spike, a worker or Redis away) heal themselves after their duration; one at a
time per router, per worker and for Redis, so "down then up" stays well defined.
`api_crash` faults are carried out by the operators (see load.py).

Mid-burst faults (issue 13) are armed on a router to fire after k matching commands, from
whoever sends them (`SimRouter.die_after`, `ghost_next(after=)`, `trap_next(after=)`,
`on_command`): with per-router batches those k commands are the first of a pipelined burst.
A worker killed mid-batch is found by its TCP connection to the router whose command cued it:
every worker connected to that router then is SIGKILLed (the sender is among them), before
that command runs, and started again after the fault's duration.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import psutil

from mikrosync.simulator import SimRouter
from tests.chaos.infra import RedisServer, WorkerProcess
from tests.chaos.load import Progress
from tests.chaos.plan import FaultKind, FaultSpec

TRAP_MESSAGE = "failure: chaos-trap"
# How long a worker-kill-mid-batch fault waits for its cue (a matching command) before it is
# disarmed and counted as never fired.
CUE_TIMEOUT_S = 15.0


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
        elif kind == FaultKind.WORKER_KILL_MID_BATCH:
            await self._kill_mid_batch(fault)
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
        elif kind == FaultKind.ROUTER_DIES:
            sim.die_after(fault.after, fault.duration_s, path=fault.path)
        elif kind == FaultKind.REPLIES_LOST:
            sim.ghost_next(fault.n, path=fault.path, after=fault.after)
        elif kind == FaultKind.TRAP_ONE_ROW:
            sim.trap_next(
                fault.path or "/",
                1,
                message=TRAP_MESSAGE,
                category=fault.category,
                after=fault.after,
            )
        label = str(kind)
        if kind in (FaultKind.TRAP, FaultKind.TRAP_ONE_ROW):
            label += " (transient)" if fault.category == 2 else " (permanent)"
        self.injected[label] += 1

    async def _kill_mid_batch(self, fault: FaultSpec) -> None:
        """SIGKILL the workers connected to the router when its (after+1)-th matching command
        arrives (before it runs), then start them again after `duration_s`."""
        sim = self.sims[fault.router]
        cued = asyncio.Event()
        killed: list[int] = []

        def cue() -> None:
            # On the router's event loop, synchronously: the kill lands before the command
            # runs, with the rest of the sender's batch in flight or not yet sent.
            try:
                for index, worker in enumerate(self.workers):
                    lock = self._worker_locks.setdefault(index, asyncio.Lock())
                    if lock.locked() or not worker.alive or not _connected(worker, sim.port):
                        continue  # another worker fault holds it, or it is not talking to us
                    worker.kill()
                    killed.append(index)
            except Exception as exc:  # raised here, it would end the router's connection
                self.errors.append(f"fault {fault.index} {fault.kind}: {exc!r}")
            finally:
                cued.set()

        sim.on_command(cue, after=fault.after, path=fault.path)
        try:
            await asyncio.wait_for(cued.wait(), CUE_TIMEOUT_S)
        except TimeoutError:
            left = [f.after for f in sim.faults.armed if f.hook is cue]
            sim.faults.armed = [f for f in sim.faults.armed if f.hook is not cue]
            short = f"{left[0] + 1} of {fault.after + 1} commands missing" if left else "gone"
            self.injected[f"{fault.kind} (never cued: {short})"] += 1
            return
        if not killed:
            self.injected[f"{fault.kind} (no worker was connected)"] += 1
            return
        self.injected[str(fault.kind)] += len(killed)
        await asyncio.sleep(fault.duration_s)
        for index in killed:
            async with self._worker_locks[index]:
                worker = self.workers[index]
                if not worker.alive:  # a worker-kill fault may have restarted it meanwhile
                    worker.start()

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


def _connected(worker: WorkerProcess, port: int) -> bool:
    """Whether the worker process holds a TCP connection to 127.0.0.1:`port`."""
    if worker.process is None:
        return False
    try:
        connections = psutil.Process(worker.process.pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return any(c.raddr and c.raddr.port == port for c in connections)
