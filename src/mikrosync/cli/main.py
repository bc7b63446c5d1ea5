"""Entry point of the `mikrosync` console script: wires every sub-command into one Typer app."""

from __future__ import annotations

import typer

from mikrosync.cli import sim

app = typer.Typer(
    name="mikrosync",
    help="Keeps an ISP's subscriber database and its MikroTik routers in agreement.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("simulate-router")(sim.simulate_router)


def main() -> None:
    app()
