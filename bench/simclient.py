"""The driver's side of `simhost.py`: start routers, turn knobs, read their write logs."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import cpu_seconds


@dataclass(frozen=True)
class RouterModel:
    """The simulator knobs the router-model bound is computed from."""

    rtt_ms: float
    service_ms: float
    max_sessions: int = 20


WRITE_VERBS = frozenset({"add", "set", "remove", "enable", "disable", "unset", "comment"})


@dataclass(frozen=True)
class WriteEntry:
    """One command a simulated router executed (reads too, despite the name)."""

    at: float
    router: int
    command: str
    names: tuple[str, ...]

    @property
    def is_write(self) -> bool:
        return self.command.rsplit("/", 1)[-1] in WRITE_VERBS


@dataclass(frozen=True)
class SimRouters:
    """Routers started together: simhost indexes and TCP ports, in the same order."""

    indexes: tuple[int, ...]
    ports: tuple[int, ...]
    model: RouterModel


class SimHost:
    """One `python -m bench.simhost` process."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self._lock = asyncio.Lock()
        self._log_cursor = 0

    @classmethod
    async def start(cls, env: dict[str, str], log_dir: Path) -> SimHost:
        log_path = log_dir / "simhost.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.simhost",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=env,
                limit=2**28,
            )
        return cls(process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self._lock:
            self.process.stdin.write(json.dumps({"op": op, **args}).encode() + b"\n")
            await self.process.stdin.drain()
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"simhost exited; see {self.log_path}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.pop("ok"):
            raise RuntimeError(f"simhost {op}: {reply['error']}")
        return reply

    async def routers(self, count: int, model: RouterModel, password: str) -> SimRouters:
        spec = {
            "username": "admin",
            "password": password,
            "latency_ms": model.rtt_ms,
            "service_ms": model.service_ms,
            "max_sessions": model.max_sessions,
        }
        reply = await self.call("start", routers=[spec] * count)
        return SimRouters(tuple(reply["indexes"]), tuple(reply["ports"]), model)

    async def stop_routers(self, routers: SimRouters) -> None:
        await self.call("stop", indexes=list(routers.indexes))

    async def set_latency(self, routers: SimRouters, ms: float) -> None:
        await self.call("set_latency", indexes=list(routers.indexes), ms=ms)

    async def go_down(self, indexes: list[int]) -> None:
        """These routers stop listening and cut their connections (offline)."""
        await self.call("down", indexes=indexes)

    async def come_up(self, indexes: list[int]) -> None:
        """Back on the same ports."""
        await self.call("up", indexes=indexes)

    async def add_row(self, index: int, path: str, values: dict[str, str]) -> None:
        await self.call("add_row", index=index, path=path, values=values)

    async def dial_in(self, index: int, names: list[str], kind: str = "ppp") -> int:
        reply = await self.call("dial_in", index=index, kind=kind, names=names)
        return int(reply["online"])

    async def count(self, index: int, path: str) -> int:
        return int((await self.call("count", index=index, path=path))["count"])

    async def load_state(self, index: int, file: Path) -> None:
        await self.call("load_state", index=index, file=str(file))

    async def mark_log(self) -> int:
        """Skip the write log so far; `new_writes` then returns only later entries."""
        self._log_cursor = int((await self.call("write_log", since=10**12))["next"])
        return self._log_cursor

    async def new_writes(self) -> list[WriteEntry]:
        reply = await self.call("write_log", since=self._log_cursor)
        self._log_cursor = int(reply["next"])
        return [WriteEntry(e[0], e[1], e[2], tuple(e[3])) for e in reply["entries"]]

    async def verbs(self) -> dict[int, dict[str, int]]:
        reply = await self.call("verbs")
        return {int(k): v for k, v in reply["verbs"].items()}

    async def reset_verbs(self) -> None:
        await self.call("reset_verbs")

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
