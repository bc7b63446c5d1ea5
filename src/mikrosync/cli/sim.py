"""`mikrosync simulate-router`: placeholder until the simulator lands (issue 3)."""

from __future__ import annotations

import typer


def simulate_router() -> None:
    """Run one or more simulated MikroTik routers speaking the RouterOS API."""
    typer.echo("simulate-router is not available yet (issue 3).", err=True)
    raise typer.Exit(1)
