"""The `mikrosync demo` command line."""

from __future__ import annotations

import asyncio

import typer

from mikrosync.cli.common import fail, settings_or_exit
from mikrosync.logs import setup_logging


def demo(
    routers: int = typer.Option(3, min=1, max=50, help="How many simulated routers to start."),
    subscribers: int = typer.Option(300, min=0, max=100_000, help="Demo subscribers to seed."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port of the web UI and API."),
    reset: bool = typer.Option(False, help="Start over with fresh demo data."),
    exit_after: float | None = typer.Option(
        None, min=1, help="Stop after this many seconds (exit 0 only if all got synced)."
    ),
    exit_when_synced: bool = typer.Option(
        False,
        help="Stop as soon as every subscriber is synced (a smoke check; with --exit-after "
        "as its time limit).",
    ),
) -> None:
    """Run the whole product on embedded services with simulated routers."""
    # Imported here: the app, the simulators and the worker take a second to import, which
    # every other command (and `mikrosync --help`) would pay for nothing.
    from mikrosync.cli.demo.run import DemoOptions, run_demo

    settings = settings_or_exit(announce=True)
    # The demo's own progress lines are its output; only warnings and errors are logged.
    setup_logging("WARNING", json_lines=settings.log_json)
    options = DemoOptions(routers, subscribers, port, reset, exit_after, exit_when_synced)
    try:
        synced = asyncio.run(run_demo(settings, options))
    except OSError as exc:
        raise fail(f"cannot start the demo: {exc} (is port {port} in use? try --port)") from None
    typer.echo("demo stopped.")
    if (exit_after is not None or exit_when_synced) and not synced:
        raise typer.Exit(1)
