"""`mikrosync serve`: the API (and, later, the web UI) under uvicorn."""

from __future__ import annotations

import os

import typer
from sqlalchemy.exc import SQLAlchemyError

from mikrosync.cli.common import fail, settings_or_exit
from mikrosync.logs import setup_logging
from mikrosync.settings import Settings


def _prepare_database(settings: Settings) -> None:
    """Migrate the embedded database; refuse to start on an external one that is behind."""
    from mikrosync.db import migrate as migrations  # Alembic: as in cli/db.py

    url = settings.resolved_database_url
    try:
        if settings.is_embedded_database:
            # The embedded database belongs to this installation alone: bring it up to date,
            # so the first run needs no separate `mikrosync migrate`.
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            migrations.upgrade(url)
        elif migrations.pending_migrations(url):
            raise fail("the database schema is not up to date; run `mikrosync migrate` first")
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"cannot reach the database: {exc}") from None


WORKER_HEALTHCHECK_S = 30


def default_workers() -> int:
    """The number of CPU cores this process may run on (its affinity, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        None,
        min=1,
        max=64,
        show_default="the number of CPU cores",
        help="Worker processes answering requests (uvicorn workers); default: one per core.",
    ),
) -> None:
    """Run the REST API and the web console."""
    # Imported here, not at the top: every other command (and `--help`) would pay for them.
    import uvicorn

    from mikrosync.app import create_app, long_lived
    from mikrosync.cli.serve_workers import run_workers

    settings = settings_or_exit(announce=True)
    _prepare_database(settings)
    count = workers or default_workers()
    log_level = settings.log_level.lower()
    typer.echo(
        f"mikrosync on http://{host}:{port}/ (web console; API at /api/v1, docs at /docs), "
        f"{count} worker process{'es' if count > 1 else ''}"
    )
    setup_logging(settings.log_level, json_lines=settings.log_json)
    # proxy_headers=False: who the client is behind a proxy is decided by one rule, ours
    # (MIKROSYNC_TRUSTED_PROXIES, `mikrosync.http.client`), not by uvicorn's default trust of
    # 127.0.0.1.
    if count == 1:
        # log_config=None: uvicorn logs through our handler (JSON lines when asked for).
        app = long_lived(create_app(settings))
        uvicorn.run(
            app, host=host, port=port, log_config=None, log_level=log_level, proxy_headers=False
        )
        return
    # Made once here, so that no two workers race to create the embedded default's key file.
    settings.resolved_secret_key()
    run_workers(
        "mikrosync.app:app_from_environment",
        factory=True,
        workers=count,
        host=host,
        port=port,
        log_config=None,
        log_level=log_level,
        proxy_headers=False,
        # uvicorn restarts a worker that does not answer its supervisor in time; importing
        # the app takes seconds on a busy small machine, longer than uvicorn's default 5 s.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )
