"""Commands whose work lands in later issues. They say so and exit non-zero; never pretend."""

from __future__ import annotations

import typer

from mikrosync.cli.common import fail


def _not_yet(command: str) -> typer.Exit:
    return fail(f"`mikrosync {command}` is not available yet in this version.", code=3)


def demo(
    routers: int = typer.Option(3, help="How many simulated routers to start."),
    subscribers: int = typer.Option(300, help="How many demo subscribers to seed."),
    port: int = typer.Option(8000, help="Port of the web UI and API."),
    reset: bool = typer.Option(False, help="Start over with fresh demo data."),
) -> None:
    """Run the whole product on embedded services with simulated routers."""
    raise _not_yet("demo")


def reconcile(
    router: str = typer.Option(..., "--router", help="Router name or id."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report drift; change nothing."),
) -> None:
    """Compare a router with the database and repair the drift."""
    raise _not_yet("reconcile")
