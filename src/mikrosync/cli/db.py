"""`mikrosync migrate`."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from mikrosync.cli.common import fail, settings_or_exit


def migrate(
    revision: str = typer.Option("head", help="Target revision (default: the newest)."),
) -> None:
    """Create or upgrade the database schema."""
    # Here, not at the top: Alembic (with Mako and Pygments) is a sixth of a second at the
    # start of every `mikrosync` command, and only this one and `serve` use it.
    from mikrosync.db import migrate as migrations

    settings = settings_or_exit(announce=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(settings.resolved_database_url, revision)
    except (SQLAlchemyError, OSError) as exc:
        raise fail(f"cannot migrate the database: {exc}") from None
    typer.echo(f"database is at revision {revision}")
