"""`mikrosync serve`: the API (and, later, the web UI) under uvicorn."""

from __future__ import annotations

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from mikrosync.app import create_app
from mikrosync.cli.common import fail, settings_or_exit
from mikrosync.db import migrate as migrations
from mikrosync.logs import setup_logging
from mikrosync.settings import Settings


def _prepare_database(settings: Settings) -> None:
    """Migrate the embedded database; refuse to start on an external one that is behind."""
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


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
) -> None:
    """Run the REST API."""
    settings = settings_or_exit(announce=True)
    _prepare_database(settings)
    app = create_app(settings)
    typer.echo(f"mikrosync on http://{host}:{port}/ (web console; API at /api/v1, docs at /docs)")
    setup_logging(settings.log_level, json_lines=settings.log_json)
    # log_config=None: uvicorn logs through our handler (JSON lines when asked for).
    # proxy_headers=False: who the client is behind a proxy is decided by one rule, ours
    # (MIKROSYNC_TRUSTED_PROXIES, `mikrosync.http.client`), not by uvicorn's default trust of
    # 127.0.0.1.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )
