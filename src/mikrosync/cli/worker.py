"""`mikrosync worker`: run a sync worker until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import typer

from mikrosync.cli.common import run, settings_or_exit, with_runtime
from mikrosync.jobs.process import run_worker
from mikrosync.logs import setup_logging
from mikrosync.runtime import Runtime
from mikrosync.settings import redacted


def worker(
    concurrency: int | None = typer.Option(
        None, min=1, max=256, help="Jobs run at once by this process (default: setting)."
    ),
) -> None:
    """Run a sync worker on the `mikrotik-sync` queue (run more processes to scale out)."""
    settings = settings_or_exit(announce=True)
    setup_logging(settings.log_level, json_lines=settings.log_json)
    slots = concurrency or settings.worker_concurrency

    async def work(runtime: Runtime) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        typer.echo(f"mikrosync worker: {slots} slots on {redacted(runtime.redis_url)}", err=True)
        await run_worker(runtime, runtime.queue, concurrency=slots, stop=stop)
        typer.echo("mikrosync worker: stopped", err=True)

    run(with_runtime(settings, work))
