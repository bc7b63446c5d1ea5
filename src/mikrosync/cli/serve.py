"""`mikrosync serve`: the API (and, later, the web UI) under uvicorn."""

from __future__ import annotations

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from mikrosync.app import create_app
from mikrosync.cli.common import fail, settings_or_exit
from mikrosync.db import migrate as migrations


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
) -> None:
    """Run the REST API."""
    settings = settings_or_exit(announce=True)
    if settings.is_embedded_database:
        # The embedded database belongs to this process alone: bring it up to date, so the
        # first run needs no separate `mikrosync migrate`.
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            migrations.upgrade(settings.resolved_database_url)
        except (SQLAlchemyError, OSError) as exc:
            raise fail(f"cannot prepare the embedded database: {exc}") from None
    app = create_app(settings)
    typer.echo(f"mikrosync API on http://{host}:{port}/api/v1 (docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
