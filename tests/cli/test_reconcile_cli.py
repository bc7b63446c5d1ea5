"""`mikrosync reconcile` run as a user would: a real subprocess, against the simulator (served by
this test's event loop, over TCP) and a SQLite file the test seeds through the API."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from mikrosync.app import create_app
from mikrosync.db import migrate
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator.testing import running_router
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role, Tenant
from tests.conftest import PASSWORD, TEST_REDIS_URL, TEST_SECRET_KEY, Staff, delete_prefix, login
from tests.helpers import RouterSite

SLUG = "acme"
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIKROSYNC_")} | {
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


async def test_dry_run_lists_drift_then_repair_then_zero_drift(cli: CliSite) -> None:
    site = cli.site
    await cli.synced("alice")
    await cli.synced("carol")
    cli.edit("/ppp/secret", "alice", profile="default")
    [carol] = site.rows("/ppp/secret", name="carol")
    site.sim.store.remove("/ppp/secret", [carol[".id"]])
    tag = f"mikrosync:t={site.owner.tenant_id}:s=424242"
    site.sim.add_row("/ppp/secret", {"name": "ghost", "comment": tag})
    site.sim.add_row("/ppp/secret", {"name": "walk-in", "comment": "cash customer"})
    walk_in = site.rows("/ppp/secret", name="walk-in")

    site.sim.reset_command_log()
    code, stdout, stderr = await cli.reconcile("--dry-run")
    assert code == 1, stderr
    assert all(command.endswith("/print") for command in site.sim.command_log)
    assert "dry run" in stdout and "Drift remains." in stdout
    assert "/ppp/secret alice: profile is 'default' on the router" in stdout
    assert "/ppp/secret carol: not on the router" in stdout
    assert f"/ppp/secret ghost: tagged {tag}" in stdout
    assert "/ppp/secret walk-in: not mikrosync's (comment 'cash customer')" in stdout
    assert "would fix" in stdout and "never touched" in stdout
    assert "Traceback" not in stderr

    code, stdout, stderr = await cli.reconcile()
    assert code == 0, stdout + stderr
    assert "Converged 2 of 2 subscriber(s)." in stdout and "No drift remains." in stdout
    profile = site.packages["pppoe"]["profile_name"]
    assert site.rows("/ppp/secret", name="alice")[0]["profile"] == profile
    assert site.rows("/ppp/secret", name="carol") and not site.rows("/ppp/secret", name="ghost")
    assert site.rows("/ppp/secret", name="walk-in") == walk_in

    code, stdout, _ = await cli.reconcile()
    assert code == 0 and "No drift remains." in stdout
    assert "different (" not in stdout and "unmanaged (1):" in stdout


async def test_report_only_policy_leaves_drift_and_exits_1(cli: CliSite) -> None:
    site = cli.site
    async with cli.runtime.sessionmaker() as session:
        await session.execute(
            update(Tenant).where(Tenant.slug == SLUG).values(reconcile_policy={"orphan": "report"})
        )
        await session.commit()
    tag = f"mikrosync:t={site.owner.tenant_id}:s=424243"
    site.sim.add_row("/ppp/secret", {"name": "ghost", "comment": tag})
    code, stdout, _ = await cli.reconcile()
    assert code == 1 and "Drift remains." in stdout
    assert site.rows("/ppp/secret", name="ghost")


async def test_unreachable_router_is_one_line_and_exit_2(cli: CliSite) -> None:
    await cli.site.sim.go_down()
    code, stdout, stderr = await cli.reconcile("--dry-run")
    assert code == 2 and stdout == ""
    assert f"cannot read router {cli.site.router['name']}" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


async def test_unknown_router_is_exit_2(cli: CliSite) -> None:
    code, _, stderr = await cli.reconcile(router="nowhere")
    assert code == 2 and "no router named 'nowhere'" in stderr and "Traceback" not in stderr
