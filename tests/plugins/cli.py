"""The CLI tests' `cli` fixture (tests/cli): a SQLite file seeded through the API, a simulated
router, and the environment that points a `mikrosync` subprocess at them; and
`run_in_process`, the command run in this process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mikrosync.app import create_app
from mikrosync.cli.main import app as cli_app
from mikrosync.db import migrate
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator.testing import running_router
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role
from tests.helpers import RouterSite
from tests.plugins.core import (
    PASSWORD,
    TEST_REDIS_URL,
    TEST_SECRET_KEY,
    Staff,
    delete_prefix,
    environ_without_settings,
    login,
)

SLUG = "acme"


def run_in_process(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`mikrosync ARGS` run by Typer's CliRunner on the console script's own app, in `cwd`,
    with none of this process's MIKROSYNC_ settings but `env` (the tests' password hashing
    stays: the commands' own choice is not what such a test is about).

    For what the app decides alone (usage, errors, set-up steps): a subprocess costs 1.5
    CPU-seconds of imports. An exception the command did not turn into a message is raised.
    Not for commands that serve or install signal handlers, nor from a running event loop's
    thread (the commands run their own: use `asyncio.to_thread`)."""
    unset: dict[str, str | None] = {
        key: None
        for key in os.environ
        if key.startswith("MIKROSYNC_") and key != "MIKROSYNC_PASSWORD_HASHING"
    }
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(cli_app, list(args), env=unset | (env or {}))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


ROUTER_PASSWORD = "router-pw"


@dataclass
class CliSite:
    site: RouterSite
    runtime: Runtime
    settings: Settings
    env: dict[str, str]

    async def reconcile(self, *flags: str, router: str | None = None) -> tuple[int, str, str]:
        """Run the command; returns (exit code, stdout, stderr)."""
        name = router or self.site.router["name"]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mikrosync",
            "reconcile",
            "--router",
            name,
            "--tenant",
            SLUG,
            *flags,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
        assert process.returncode is not None
        return process.returncode, stdout.decode(), stderr.decode()

    async def synced(self, username: str) -> int:
        created = await self.site.subscriber(username=username)
        async with self.runtime.private_routers(settings=self.settings) as deps:
            outcome = await converge_subscriber(deps, created["id"], Attempt("addUser"))
        assert outcome == Outcome.SUCCEEDED
        return int(created["id"])

    def edit(self, path: str, key: str, **values: str) -> None:
        [row] = self.site.rows(path, name=key)
        self.site.sim.store.table(path).update([row[".id"]], values)


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[CliSite]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        redis_url=TEST_REDIS_URL,
        queue_prefix=f"cli-{uuid.uuid4().hex[:10]}",
    )
    env = environ_without_settings() | {
        "MIKROSYNC_DATA_DIR": str(settings.data_dir),
        "MIKROSYNC_DATABASE_URL": url,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
        "MIKROSYNC_REDIS_URL": TEST_REDIS_URL,
        "MIKROSYNC_ROUTER_CONNECT_TIMEOUT_S": "1",
        "COLUMNS": "160",
    }
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
        running_router(username="admin", password=ROUTER_PASSWORD) as sim,
    ):
        async with runtime.sessionmaker() as session:
            tenant = await tenants.create_tenant(session, slug=SLUG, name="Acme ISP")
            email = "ops@acme.test"
            await tenants.create_staff_user(
                session, tenant_id=tenant.id, email=email, password=PASSWORD, role=Role.OWNER
            )
        owner = Staff(email=email, tenant_id=tenant.id, token=await login(http, email))
        site = RouterSite(**await RouterSite.create(http, owner, sim, ROUTER_PASSWORD))
        yield CliSite(site, runtime, settings, env)
    await runtime.close()
    await delete_prefix(settings.queue_prefix)
