"""`mikrosync migrate`."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from mikrosync.cli.common import fail, settings_or_exit
from mikrosync.db import migrate as migrations


def migrate(
    revision: str = typer.Option("head", help="Target revision (default: the newest)."),
) -> None:
    """Create or upgrade the database schema."""
    settings = settings_or_exit(announce=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(settings.resolved_database_url, revision)
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"cannot migrate the database: {exc}") from None
    typer.echo(f"database is at revision {revision}")
