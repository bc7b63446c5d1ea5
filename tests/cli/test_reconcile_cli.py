"""`mikrosync reconcile` run as a user would: a real subprocess, against the simulator (served by
this test's event loop, over TCP) and a SQLite file the test seeds through the API."""

from __future__ import annotations

from sqlalchemy import update

from mikrosync.tenants.models import Tenant
from tests.plugins.cli import SLUG, CliSite


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
