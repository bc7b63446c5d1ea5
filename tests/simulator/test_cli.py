"""The real `mikrosync simulate-router` command, run as a user would run it."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import librouteros
import pytest
import typer
from typer.testing import CliRunner

from mikrosync.cli.sim import simulate_router
from tests.plugins.simulator import collect

# Tier (tests/plugins/tiers.py): runs `mikrosync simulate-router` as a subprocess.
pytestmark = pytest.mark.e2e

MIKROSYNC = str(Path(sys.executable).with_name("mikrosync"))


async def start_cli(*args: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """Start the CLI and wait for its `listening on` lines (one per router)."""
    count = int(args[args.index("--count") + 1]) if "--count" in args else 1
    proc = await asyncio.create_subprocess_exec(
        MIKROSYNC, "simulate-router", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    addresses = []
    async with asyncio.timeout(20):
        while len(addresses) < count:
            line = (await proc.stdout.readline()).decode()
            assert line, (await proc.communicate())[1].decode()
            if line.startswith("listening on "):
                addresses.append(line.removeprefix("listening on ").strip())
    return proc, addresses


async def stop_cli(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode


async def test_cli_serves_librouteros_and_writes_state_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "router.json"
    proc, [address] = await start_cli(
        "--port", "0", "--password", "pw", "--identity", "edge", "--seed-secrets", "3",
        "--state", str(state),
    )  # fmt: skip
    host, port = address.rsplit(":", 1)
    api = await librouteros.async_connect(host, "admin", "pw", port=int(port))
    assert await collect(api, "/system/identity/print") == [{"name": "edge"}]
    await api.path("ppp", "secret").add(name="alice")
    await api.close()
    assert await stop_cli(proc) == 0
    saved = json.loads(state.read_text())
    names = [i["name"] for i in saved["tables"]["/ppp/secret"]["items"]]
    assert names == ["seed00001", "seed00002", "seed00003", "alice"]

    proc, [address] = await start_cli("--port", "0", "--password", "pw", "--state", str(state))
    api = await librouteros.async_connect(
        "127.0.0.1", "admin", "pw", port=int(address.split(":")[1])
    )
    assert len(await collect(api, "/ppp/secret/print")) == 4
    await api.close()
    assert await stop_cli(proc) == 0


async def test_cli_count_runs_several_routers_with_suffixes(tmp_path: Path) -> None:
    state = tmp_path / "fleet.json"
    proc, addresses = await start_cli(
        "--port", "0", "--count", "2", "--tls-port", "0", "--state", str(state)
    )
    identities = []
    for address in addresses:
        api = await librouteros.async_connect(
            "127.0.0.1", "admin", "", port=int(address.split(":")[1])
        )
        identities += [r["name"] for r in await collect(api, "/system/identity/print")]
        await api.close()
    assert identities == ["MikroTik-1", "MikroTik-2"]
    assert await stop_cli(proc) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet-1.json", "fleet-2.json"]


async def test_cli_rejects_a_bad_flag_without_traceback() -> None:
    proc = await asyncio.create_subprocess_exec(
        MIKROSYNC, "simulate-router", "--port", "70000",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode != 0
    assert b"Traceback" not in err
    assert b"ports must be within 0..65535" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "abc"],
        ["--count", "0"],
        ["--version", "seven"],
        ["--latency-ms", "-1"],
        ["--max-sessions", "0"],
        ["--seed-secrets", "-2"],
    ],
)
def test_cli_flag_validation_in_process(args: list[str]) -> None:
    app = typer.Typer()
    app.command()(simulate_router)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
