"""Fixtures and helpers of the end-to-end tests (tests/e2e, and the browser tests that reuse
them): the API in-process, real `mikrosync worker` subprocesses, the simulator over TCP,
real Redis, and a database of its own per backend (so the workers' sweeper sees only these
tests' rows)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mikrosync.app import create_app
from mikrosync.db import migrate
from mikrosync.settings import Settings
from tests.helpers import RouterSite
from tests.plugins.core import (
    TEST_REDIS_URL,
    TEST_SECRET_KEY,
    _create_postgres_database,
    _drop_postgres_database,
    delete_prefix,
    environ_without_settings,
)

# Fast sync knobs, so recovery paths finish in seconds.
WORKER_ENV = {
    "MIKROSYNC_ROUTER_CONNECT_TIMEOUT_S": "1",
    "MIKROSYNC_ROUTER_COMMAND_TIMEOUT_S": "2",
    "MIKROSYNC_SWEEP_INTERVAL_S": "1",
    "MIKROSYNC_SWEEP_STALE_AFTER_S": "2",
    "MIKROSYNC_HEALTH_INTERVAL_S": "1",
    "MIKROSYNC_SYNC_ATTEMPTS": "4",
    "MIKROSYNC_JOB_LOCK_S": "3",
    "MIKROSYNC_STALLED_CHECK_S": "1",
    "MIKROSYNC_LOG_JSON": "true",
    "MIKROSYNC_RECONCILE_INTERVAL_S": "10",
    "MIKROSYNC_REMINDER_SCAN_S": "1",
}


@asynccontextmanager
async def e2e_database(backend: str, data_dir: Path) -> AsyncIterator[Settings]:
    """Settings of a migrated database of its own ("sqlite" or "postgresql") and a queue
    prefix of its own; both are removed afterwards."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'e2e.db'}"
    else:
        url = await _create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    yield Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        redis_url=TEST_REDIS_URL,
        queue_prefix=prefix,
    )
    await delete_prefix(prefix)
    if backend == "postgresql":
        await _drop_postgres_database(url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def e2e_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    async with e2e_database(request.param, tmp_path_factory.mktemp("e2e")) as settings:
        yield settings


class WorkerProcess:
    """A real `mikrosync worker` subprocess."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        concurrency: int = 4,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = environ_without_settings()
        env |= WORKER_ENV | {
            "MIKROSYNC_DATA_DIR": str(settings.data_dir),
            "MIKROSYNC_DATABASE_URL": settings.resolved_database_url,
            "MIKROSYNC_REDIS_URL": settings.redis_url or "",
            "MIKROSYNC_QUEUE_PREFIX": settings.queue_prefix,
            "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
        }
        env |= extra_env or {}
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mikrosync", "worker", "--concurrency", str(concurrency)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    """Settings of the module's workers on top of WORKER_ENV (a module may override this)."""
    return {}


@pytest.fixture(scope="module")
def workers(
    e2e_settings: Settings, worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory of worker subprocesses; all are stopped at the end of the module."""
    started: list[WorkerProcess] = []
    log_dir = tmp_path_factory.mktemp("worker-logs")

    def start(concurrency: int = 4) -> WorkerProcess:
        log_path = log_dir / f"worker-{len(started)}.log"
        worker = WorkerProcess(e2e_settings, log_path, concurrency, worker_env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def worker(workers: Callable[..., WorkerProcess]) -> WorkerProcess:
    return workers()


@pytest.fixture(scope="module")
async def e2e_client(e2e_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(e2e_settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
    await app.state.runtime.close()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 20.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


@dataclass
class Site(RouterSite):
    """A RouterSite served by the module's worker processes."""

    async def synced(self, subscriber_id: int, *, timeout: float = 20.0) -> dict[str, Any]:
        async def check() -> bool:
            row = await self.status(subscriber_id)
            assert row.get("sync_status") != "error", row
            return row.get("sync_status") == "synced"

        await eventually(check, timeout=timeout, what=f"subscriber {subscriber_id} synced")
        return await self.status(subscriber_id)


async def expired_on_router(site: Site, username: str, **fields: Any) -> dict[str, Any]:
    """A subscriber synced to the router, then cut by expiry (secret disabled, synced)."""
    created = await site.subscriber(username=username, **fields)
    await site.synced(created["id"])
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await site.call("PATCH", f"/subscribers/{created['id']}", json={"expires_at": soon})

    async def cut() -> bool:
        row = await site.status(created["id"])
        secret = site.rows("/ppp/secret", name=username)
        return (
            row["is_suspended"]
            and row["sync_status"] == "synced"
            and bool(secret)
            and secret[0]["disabled"] == "true"
        )

    await eventually(cut, timeout=30, what=f"{username} cut by expiry")
    return created
