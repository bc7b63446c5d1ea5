"""`mikrosync simulate-mpesa`: a local Daraja stand-in (OAuth, STK push, C2B)."""

from __future__ import annotations

import asyncio
import contextlib

import typer

from mikrosync.mpesa_sim.app import SimConfig
from mikrosync.mpesa_sim.server import serve_forever


def simulate_mpesa(
    port: int = typer.Option(8729, min=0, max=65535, help="Port to listen on (0 = any)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    shortcode: str = typer.Option("600000", help="Paybill shortcode."),
    consumer_key: str = typer.Option("sim-key", help="Consumer key the OAuth call must send."),
    consumer_secret: str = typer.Option("sim-secret", help="Consumer secret."),
    passkey: str = typer.Option("sim-passkey", help="STK passkey."),
    stk_delay: float = typer.Option(2.0, min=0, help="Seconds before an STK callback."),
) -> None:
    """Run a simulated M-Pesa Daraja API. Controls: POST /sim/c2b {"amount", "account",
    "msisdn", "copies", "delay_s"}; POST /sim/stk-outcome {"result_code", "copies"};
    GET /sim/deliveries."""
    if not shortcode.isdigit():
        raise typer.BadParameter("--shortcode must be digits")
    config = SimConfig(shortcode, consumer_key, consumer_secret, passkey, stk_delay)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(config, host, port, typer.echo))
    except OSError as exc:
        typer.echo(f"simulate-mpesa: {exc}", err=True)
        raise typer.Exit(1) from None
