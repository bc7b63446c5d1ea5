"""Commands whose work lands in later issues. They say so and exit non-zero; never pretend."""

from __future__ import annotations

import typer

from mikrosync.cli.common import fail


def _not_yet(command: str) -> typer.Exit:
    return fail(f"`mikrosync {command}` is not available yet in this version.", code=3)


def reconcile(
    router: str = typer.Option(..., "--router", help="Router name or id."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report drift; change nothing."),
) -> None:
    """Compare a router with the database and repair the drift."""
    raise _not_yet("reconcile")
