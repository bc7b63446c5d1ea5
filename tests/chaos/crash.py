"""The API process killed between commit and push, for real, once the product has the hook.

The hook (proposed, docs/chaos.md): `Runtime.hint`, which runs right after a request's commit
and before its push, calls `os._exit` when the file named by `MIKROSYNC_CHAOS_CRASH_FLAG`
exists. It is off unless that variable is set and the file is there, so production never
reaches it. With the hook, an `api_crash` operation goes to a `mikrosync serve` subprocess of
its own with the flag armed: the process dies after committing, the client gets no answer,
the run starts the process again and reads what was committed from the database.

Without the hook (`hook_available()` is False) the operators commit through the service layer
and never push, which leaves exactly the same state behind (see load.py).
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

import mikrosync.runtime
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber
from tests.chaos.infra import free_port, wait_ready
from tests.plugins.core import MIKROSYNC, TEST_SECRET_KEY, environ_without_settings

HOOK_ENV = "MIKROSYNC_CHAOS_CRASH_FLAG"


def hook_available() -> bool:
    return HOOK_ENV in inspect.getsource(mikrosync.runtime)


class CrashingApi:
    """A `mikrosync serve` whose next push kills it; started again after every crash."""

    def __init__(self, settings: Settings, run_dir: Path) -> None:
        self.settings = settings
        self.flag = run_dir / "crash-next-push"
        self.log = run_dir / "crashing-api.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.crashes = 0
        self._lock = asyncio.Lock()

    def _env(self) -> dict[str, str]:
        env = environ_without_settings()
        return env | {
            "MIKROSYNC_DATA_DIR": str(self.settings.data_dir),
            "MIKROSYNC_DATABASE_URL": self.settings.resolved_database_url,
            "MIKROSYNC_REDIS_URL": self.settings.redis_url or "",
            "MIKROSYNC_QUEUE_PREFIX": self.settings.queue_prefix,
            "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
            "MIKROSYNC_LOG_LEVEL": "WARNING",
            HOOK_ENV: str(self.flag),
        }

    async def start(self, timeout: float = 60) -> None:
        self.flag.unlink(missing_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                # One process, so that the crash (SIGKILL) takes the whole API down with it.
                [*MIKROSYNC, "serve", "--port", str(self.port), "--workers", "1"],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await wait_ready(self.base, timeout)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 30)

    async def send(
        self, method: str, path: str, headers: dict[str, str], json: dict[str, Any] | None
    ) -> httpx.Response | None:
        """Send one request with the crash armed. None: the process died (after its commit,
        before its push), as intended; a response: it answered before any push (a refusal)."""
        async with self._lock:
            self.flag.touch()
            try:
                async with httpx.AsyncClient(base_url=self.base, timeout=60) as http:
                    response = await http.request(method, path, json=json, headers=headers)
            except httpx.TransportError:
                response = None
            self.flag.unlink(missing_ok=True)
            if self.process is not None and self.process.poll() is None:
                return response
            self.crashes += 1
            if self.process is not None:
                await asyncio.to_thread(self.process.wait, 10)
            await self.start()
            return response


async def committed(
    runtime: Runtime, *, subscriber_id: int | None, router_id: int, username: str
) -> Subscriber | None:
    """What the killed request committed: the subscriber's row as it is now."""
    async with runtime.sessionmaker() as session:
        if subscriber_id is not None:
            return await session.get(Subscriber, subscriber_id)
        query = select(Subscriber).where(
            Subscriber.router_id == router_id, Subscriber.username == username
        )
        return (await session.scalars(query)).first()
