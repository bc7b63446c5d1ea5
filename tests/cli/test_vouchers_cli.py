"""`mikrosync vouchers` as a user runs it: real subprocesses against the simulator over TCP and a
SQLite file (the reconcile CLI's fixture)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.plugins.cli import SLUG, CliSite

USERS = "/ip/hotspot/user"


async def vouchers(site: CliSite, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mikrosync",
        "vouchers",
        *args,
        "--tenant",
        SLUG,
        env=site.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_create_list_print_delete(cli: CliSite, tmp_path: Path) -> None:
    site = cli.site
    package = site.packages["hotspot"]["name"]
    code, stdout, stderr = await vouchers(
        cli,
        "create",
        "--router",
        site.router["name"],
        "--package",
        package,
        "--count",
        "60",
        "--price",
        "1.25",
        "--validity",
        "1d",
        "--here",
    )
    assert code == 0, stderr
    assert "60 voucher(s) recorded" in stdout
    assert "60/60" in stderr and "synced" in stderr  # the progress bar's last state
    tagged = [r for r in site.sim.rows(USERS) if ":v=" in r.get("comment", "")]
    assert len(tagged) == 60
    batch_id = stdout.split("#", 1)[1].split(":", 1)[0]
    code, stdout, _ = await vouchers(cli, "list")
    assert code == 0 and "60 of 60" in stdout and "synced" in stdout
    sheet = tmp_path / "sheet.pdf"
    code, _, stderr = await vouchers(
        cli, "print", batch_id, "--out", str(sheet), "--per-page", "40"
    )
    assert code == 0, stderr
    assert sheet.read_bytes().startswith(b"%PDF-")
    code, _, stderr = await vouchers(cli, "delete", batch_id, "--here")
    assert code == 0, stderr
    assert not [r for r in site.sim.rows(USERS) if ":v=" in r.get("comment", "")]


async def test_bad_input_names_the_field(cli: CliSite) -> None:
    site = cli.site
    base = ("create", "--router", site.router["name"], "--no-wait")
    code, _, stderr = await vouchers(cli, *base, "--count", "0", "--profile", "default")
    assert code == 2 and "count" in stderr
    code, _, stderr = await vouchers(
        cli, *base, "--count", "9000", "--length", "3", "--profile", "default"
    )
    assert code == 2 and "code_length" in stderr
    code, _, stderr = await vouchers(cli, *base, "--count", "5")
    assert code == 2 and "profile_name" in stderr
