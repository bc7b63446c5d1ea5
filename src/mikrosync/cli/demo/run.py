"""Orchestration of `mikrosync demo`: database, simulated network, API + UI, worker, and a
progress line, all in one process and one event loop, stopped together on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import typer
import uvicorn

from mikrosync.app import create_app
from mikrosync.cli.demo import seed
from mikrosync.cli.demo.network import HANDMADE_LOGIN, ROUTER_PASSWORD, ROUTER_USER, DemoNetwork
from mikrosync.cli.demo.payments import simulated_payments
from mikrosync.db import migrate
from mikrosync.jobs.process import run_worker
from mikrosync.jobs.push import push_intents
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 2.0


@dataclass(frozen=True)
class DemoOptions:
    routers: int
    subscribers: int
    port: int
    reset: bool
    exit_after: float | None
    exit_when_synced: bool = False


async def run_demo(settings: Settings, options: DemoOptions) -> bool:
    """Run until Ctrl-C (or `exit_after` seconds); True if every subscriber got synced."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(migrate.upgrade, settings.resolved_database_url)
    runtime = Runtime.build(settings)
    network = DemoNetwork(settings.data_dir / "demo-routers")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        if options.reset:
            await seed.reset(runtime)
            for state in network.state_dir.glob("router-*.json"):
                state.unlink()
        await network.start(options.routers)
        tenant_id = await _prepare_data(runtime, network, options)
        server = _EmbeddedServer(
            uvicorn.Config(
                create_app(settings),
                host="127.0.0.1",
                port=options.port,
                log_level="warning",
                proxy_headers=False,  # one rule for client addresses: MIKROSYNC_TRUSTED_PROXIES
            )
        )
        tasks = [
            asyncio.create_task(server.serve()),
            asyncio.create_task(run_worker(runtime, runtime.queue, concurrency=16, stop=stop)),
        ]
        server_url = f"http://127.0.0.1:{options.port}"
        async with simulated_payments(runtime, tenant_id, server_url, stop) as mpesa_url:
            _announce(options, network)
            typer.echo(f"  M-Pesa simulator: {mpesa_url}; expired subscribers pay by paybill\n")
            synced = await _watch(runtime, tenant_id, stop, options)
            stop.set()
        server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        return synced
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await network.stop()
        await runtime.close()


async def _prepare_data(runtime: Runtime, network: DemoNetwork, options: DemoOptions) -> int:
    addresses = [
        seed.RouterAddress(name, sim.host, sim.port, ROUTER_USER, ROUTER_PASSWORD)
        for name, sim in zip(network.names, network.routers, strict=True)
    ]
    tenant = await seed.demo_tenant(runtime)
    if tenant is not None:
        typer.echo(
            f"Reusing the demo data ({options.subscribers} requested; use --reset to start over)."
        )
        await seed.point_routers(runtime, tenant.id, addresses)
        return tenant.id
    typer.echo(f"Seeding {options.subscribers} subscribers on {options.routers} routers...")
    created = await seed.seed(runtime, addresses, options.subscribers)
    await push_intents(runtime.queue, created)
    tenant = await seed.demo_tenant(runtime)
    assert tenant is not None
    return tenant.id


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the demo's loop: the demo owns SIGINT/SIGTERM, so uvicorn must not
    install (and later re-raise) its own handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _announce(options: DemoOptions, network: DemoNetwork) -> None:
    url = f"http://127.0.0.1:{options.port}/"
    typer.secho(f"\nmikrosync demo is running: {url}", bold=True)
    typer.echo(f"  log in as {seed.DEMO_EMAIL} / {seed.DEMO_PASSWORD}")
    typer.echo(f"  REST API: {url}api/v1 (docs at {url}docs), metrics at {url}metrics")
    if network.flaky_name:
        typer.echo(f"  router {network.flaky_name} is flaky: it drops off now and then")
    typer.echo("  Ctrl-C stops everything; run again to continue, --reset to start over.\n")


async def _watch(
    runtime: Runtime, tenant_id: int, stop: asyncio.Event, options: DemoOptions
) -> bool:
    """Print progress until stopped (or `exit_after` seconds, or all synced with
    `exit_when_synced`); True once every subscriber has been synced."""
    exit_after = options.exit_after
    started = time.monotonic()
    all_synced = False
    last = ""
    while not stop.is_set():
        counts = await seed.status_counts(runtime, tenant_id)
        total = sum(counts.values())
        line = ", ".join(f"{status} {counts[status]}" for status in sorted(counts))
        # The one login made by hand on a router stays in Error on purpose (seed.py).
        synced, planned_error = counts.get("synced", 0), min(counts.get("error", 0), 1)
        if synced + planned_error == total and total and not all_synced:
            all_synced = True
            note = (
                f" ({HANDMADE_LOGIN!r} stays in Error on purpose: its login was made by hand)"
                if planned_error
                else ""
            )
            typer.secho(
                f"all {synced} subscribers synced after {time.monotonic() - started:.1f}s{note}",
                fg="green",
            )
            if options.exit_when_synced:
                break
        elif line != last:
            typer.echo(f"[{time.monotonic() - started:5.0f}s] {line}")
        last = line
        if exit_after is not None and time.monotonic() - started >= exit_after:
            break
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PROGRESS_EVERY_S)
    return all_synced
