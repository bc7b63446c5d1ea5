"""`mikrosync import-csv` and `mikrosync import-router` run as a user would, on a SQLite file.

The routers and packages are created in-process (there is no CLI for them); the commands run
as subprocesses. For import-router, the simulator runs in this process on a real TCP port, so
the subprocess is started from a thread to keep the simulator's event loop serving.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from mikrosync.jobs.producer import JobQueue
from mikrosync.packages.schemas import PackageCreate
from mikrosync.packages.service import create_package
from mikrosync.routers.schemas import RouterCreate
from mikrosync.routers.service import create_router
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from mikrosync.subscribers.models import Subscriber
from mikrosync.tenants.service import find_tenant_by_slug
from tests.plugins.cli import run_in_process
from tests.plugins.core import (
    TEST_PUSH_TIMEOUT_S,
    TEST_REDIS_URL,
    TEST_SECRET_KEY,
    delete_prefix,
    environ_without_settings,
)

# Tier (tests/plugins/tiers.py): runs the CLI as a subprocess.
pytestmark = pytest.mark.e2e

ROUTER_PASSWORD = "router-pw"


def mikrosync(cwd: Path, variables: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = environ_without_settings()
    return subprocess.run(
        [sys.executable, "-m", "mikrosync", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean | variables | {"COLUMNS": "200"},
        timeout=120,
        check=False,
    )


@dataclass
class Env:
    """A scratch directory with a migrated SQLite database and tenant `acme`."""

    cwd: Path
    variables: dict[str, str]
    runtime: Runtime
    tenant_id: int = 0

    async def arun(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(mikrosync, self.cwd, self.variables, *args)

    async def in_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The command run in this process: for set-up and usage errors (no subprocess)."""
        return await asyncio.to_thread(run_in_process, self.cwd, *args, env=self.variables)

    async def add_router(self, name: str, port: int = 8728) -> None:
        async with self.runtime.sessionmaker() as session:
            data = RouterCreate(
                name=name, host="127.0.0.1", port=port, username="admin", password=ROUTER_PASSWORD
            )
            await create_router(
                session, tenant_id=self.tenant_id, data=data, vault=self.runtime.vault
            )

    async def add_package(self, name: str, service: str, profile: str | None = None) -> None:
        async with self.runtime.sessionmaker() as session:
            data = PackageCreate(
                name=name, service=service, rate_limit="10M/5M", profile_name=profile
            )
            await create_package(session, tenant_id=self.tenant_id, data=data)

    async def subscribers(self) -> dict[str, Subscriber]:
        async with self.runtime.sessionmaker() as session:
            rows = (await session.scalars(select(Subscriber))).all()
            return {row.username: row for row in rows}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    prefix = f"cli-{uuid.uuid4().hex[:10]}"
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'mikrosync.db'}"
    variables = {
        "MIKROSYNC_DATA_DIR": str(tmp_path / ".mikrosync"),
        "MIKROSYNC_DATABASE_URL": database_url,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
        "MIKROSYNC_REDIS_URL": TEST_REDIS_URL,
        "MIKROSYNC_QUEUE_PREFIX": prefix,
    }
    settings = Settings(
        data_dir=tmp_path / ".mikrosync",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        redis_url=TEST_REDIS_URL,
        queue_prefix=prefix,
    )
    runtime = Runtime.build(settings)
    scratch = Env(tmp_path, variables, runtime)
    assert (await scratch.in_process("migrate")).returncode == 0
    assert (await scratch.in_process("tenant", "create", "acme", "--name", "Acme")).returncode == 0
    async with runtime.sessionmaker() as session:
        acme = await find_tenant_by_slug(session, slug="acme")
        assert acme is not None
        scratch.tenant_id = acme.id
    yield scratch
    await runtime.close()
    await delete_prefix(prefix)


CSV = """username,password,package,static_ip,expires_at
ann,Pw-ann-1,Home,,2030-05-01
bad user,Pw-bad-1,Home,,
ben,Pw-ben-1,Home,,05/01/2030
cy,,Fixed,10.2.0.1,
"""


async def test_import_csv_dry_run_then_import_reports_bad_rows(env: Env) -> None:
    await env.add_router("r1")
    await env.add_package("Home", "pppoe")
    await env.add_package("Fixed", "static")
    (env.cwd / "subs.csv").write_text(CSV)
    dry = await env.arun(
        "import-csv", "subs.csv", "--router", "r1", "--tenant", "acme", "--dry-run"
    )
    assert dry.returncode == 1, dry.stderr
    assert "would create 2 subscriber(s), skipped 2 row(s)" in dry.stdout
    assert "nothing was written" in dry.stdout
    assert await env.subscribers() == {}
    done = await env.arun("import-csv", "subs.csv", "--router", "1", "--tenant", "acme")
    assert done.returncode == 1, done.stderr
    assert "created 2 subscriber(s), skipped 2 row(s)" in done.stdout
    lines = done.stdout.splitlines()
    assert any("3" in line and "username" in line and "printable ASCII" in line for line in lines)
    assert any("4" in line and "expires_at" in line and "05/01/2030" in line for line in lines)
    rows = await env.subscribers()
    assert set(rows) == {"ann", "cy"}
    assert all(row.sync_status == "pending" for row in rows.values())
    queue = JobQueue(
        TEST_REDIS_URL,
        prefix=env.variables["MIKROSYNC_QUEUE_PREFIX"],
        timeout_s=TEST_PUSH_TIMEOUT_S,
    )
    try:
        waiting = await queue._call("getWaiting", 0, -1)
    finally:
        await queue.close()
    assert {job.data["subscriber_id"] for job in waiting} == {row.id for row in rows.values()}
    (env.cwd / "more.csv").write_text("username,password,package\ndee,Pw-dee-1,Home\n")
    clean = await env.arun("import-csv", "more.csv", "--router", "r1", "--tenant", "acme")
    assert clean.returncode == 0 and "created 1 subscriber(s), skipped 0 row(s)" in clean.stdout


async def test_import_csv_usage_and_file_errors_exit_2(env: Env) -> None:
    await env.add_router("r1")
    (env.cwd / "bad.csv").write_text("name,pass\nx,y\n")
    (env.cwd / "binary.csv").write_bytes(b"\xff\xfe\x00\x01")
    (env.cwd / "ok.csv").write_text("username,password,package\nx,Pw-xx-1,Home\n")
    cases = [
        (("missing.csv", "--router", "r1", "--tenant", "acme"), "cannot read missing.csv"),
        (("ok.csv", "--router", "r1", "--tenant", "ghost"), "no tenant with slug 'ghost'"),
        (("ok.csv", "--router", "r9", "--tenant", "acme"), "no router named 'r9'"),
        (("bad.csv", "--router", "r1", "--tenant", "acme"), "unknown column(s) name, pass"),
        (("binary.csv", "--router", "r1", "--tenant", "acme"), "not UTF-8"),
    ]
    for args, fragment in cases:
        result = await env.in_process("import-csv", *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert fragment in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert await env.subscribers() == {}


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    async with running_router(username="admin", password=ROUTER_PASSWORD) as router:
        yield router


async def test_import_router_dry_run_then_adopt(env: Env, sim: SimRouter) -> None:
    await env.add_router("edge", port=sim.port)
    await env.add_package("Home", "pppoe", profile="home")
    sim.add_row("/ppp/profile", {"name": "home", "rate-limit": "10M/5M"})
    sim.add_row("/ppp/profile", {"name": "legacy"})
    for name, profile in (("p1", "home"), ("p2", "home"), ("l1", "legacy")):
        sim.add_row("/ppp/secret", {"name": name, "password": f"pw-{name}", "profile": profile})
    sim.reset_command_log()
    dry = await env.arun("import-router", "--router", "edge", "--tenant", "acme", "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "would import 2 login(s) (pppoe: 2)" in dry.stdout
    assert "legacy" in dry.stdout and "no pppoe package has profile_name 'legacy'" in dry.stdout
    assert not [c for c in sim.command_log if not c.endswith("/print")]
    assert await env.subscribers() == {}
    done = await env.arun("import-router", "--router", "edge", "--tenant", "acme")
    assert done.returncode == 1, done.stderr
    assert "imported 2 login(s) as synced subscribers" in done.stdout
    rows = await env.subscribers()
    assert set(rows) == {"p1", "p2"}
    for name, row in rows.items():
        assert row.sync_status == "synced" and row.synced_version == 1
        [secret] = [r for r in sim.rows("/ppp/secret") if r["name"] == name]
        assert secret["comment"] == f"mikrosync:t={env.tenant_id}:s={row.id}"
    [legacy] = [r for r in sim.rows("/ppp/secret") if r["name"] == "l1"]
    assert "comment" not in legacy or not legacy["comment"]
    await env.add_router("gone", port=1)
    unreachable = await env.arun("import-router", "--router", "gone", "--tenant", "acme")
    assert unreachable.returncode == 1
    assert "router gone:" in unreachable.stderr and "Traceback" not in unreachable.stderr


def test_import_commands_have_help(tmp_path: Path) -> None:
    for command in ("import-csv", "import-router"):
        result = run_in_process(tmp_path, command, "--help", env={"COLUMNS": "200"})
        assert result.returncode == 0 and "--tenant" in result.stdout
