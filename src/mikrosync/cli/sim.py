"""`mikrosync simulate-router`: run one or more simulated MikroTik routers (issue 3).

Only parses and checks flags; `mikrosync.simulator.fleet` does the work. Bad values end with
a one-line error and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.fleet import FleetPlan, run_fleet

MAX_PORT = 65535


def _check_ports(port: int, count: int, name: str) -> None:
    last = port + (count - 1 if port else 0)
    if port < 0 or last > MAX_PORT:
        raise typer.BadParameter(f"{name} {port}: ports must be within 0..{MAX_PORT}")


def simulate_router(
    port: int = typer.Option(8728, help="API port (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    username: str = typer.Option("admin", help="API user name."),
    password: str = typer.Option("", help="API password."),
    identity: str = typer.Option("MikroTik", help="/system/identity name (suffixed with --count)."),
    latency_ms: float = typer.Option(0.0, help="Delay before every reply (RTT), ms."),
    service_ms: float = typer.Option(0.0, help="CPU time per command, serialised per router, ms."),
    max_sessions: int = typer.Option(20, help="Sessions past this are accepted, then closed."),
    tls_port: int | None = typer.Option(None, help="Also serve API-SSL here (self-signed)."),
    state: Path | None = typer.Option(None, help="JSON state: loaded if present, saved on exit."),
    seed_secrets: int = typer.Option(0, help="Add N PPP secrets that nobody owns."),
    count: int = typer.Option(1, help="Run K routers on consecutive ports."),
    dial_rate: float = typer.Option(0.0, help="Background dialer: users online per second."),
    version: str = typer.Option("7.18.2", help="RouterOS version to mimic (6.49, 7.18.2...)."),
    legacy_login: bool = typer.Option(False, help="Accept the pre-6.43 challenge login."),
) -> None:
    """Run one or more simulated MikroTik routers speaking the RouterOS API."""
    if count < 1:
        raise typer.BadParameter("--count must be at least 1")
    if seed_secrets < 0:
        raise typer.BadParameter("--seed-secrets must be >= 0")
    _check_ports(port, count, "--port")
    if tls_port is not None:
        _check_ports(tls_port, count, "--tls-port")
    config = SimConfig(
        username=username,
        password=password,
        identity=identity,
        latency_ms=latency_ms,
        service_ms=service_ms,
        max_sessions=max_sessions,
        version=version,
        legacy_login=legacy_login,
        tls=tls_port is not None,
        dial_rate=dial_rate,
    )
    try:
        config.validate()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    plan = FleetPlan(config, host, port, tls_port, count, state, seed_secrets)
    try:
        asyncio.run(run_fleet(plan))
    except (OSError, ValueError) as exc:
        typer.echo(f"simulate-router: {exc}", err=True)
        raise typer.Exit(1) from None
