"""Entry point of the `mikrosync` console script: wires every sub-command into one Typer app."""

from __future__ import annotations

import typer

from mikrosync import __version__
from mikrosync.cli import (
    db,
    imports,
    mpesa_sim,
    queue,
    reconcile,
    secrets_cmd,
    serve,
    sim,
    tenants,
    vouchers,
    worker,
)
from mikrosync.cli.demo import command as demo_command

app = typer.Typer(
    name="mikrosync",
    help="Keeps an ISP's subscriber database and its MikroTik routers in agreement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command("demo")(demo_command.demo)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("migrate")(db.migrate)
app.command("simulate-router")(sim.simulate_router)
app.command("simulate-mpesa")(mpesa_sim.simulate_mpesa)
app.command("reconcile")(reconcile.reconcile)
app.command("import-csv")(imports.import_csv_command)
app.command("import-router")(imports.import_router_command)
app.command("rotate-secrets")(secrets_cmd.rotate)
app.add_typer(tenants.tenant_app, name="tenant")
app.add_typer(tenants.user_app, name="user")
app.add_typer(vouchers.voucher_app, name="vouchers")
app.add_typer(queue.queue_app, name="queue")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mikrosync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Keeps an ISP's subscriber database and its MikroTik routers in agreement."""


def main() -> None:
    app()
