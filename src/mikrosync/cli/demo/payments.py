"""The demo's money path: a local M-Pesa simulator calls the demo's server back over
loopback; every little while a subscriber cut for expiry "pays" by paybill (with a duplicated
callback, as Daraja sends when it misses an answer) and is reconnected by the queue; one
payment arrives for an account nobody has, and waits in Payments as unmatched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import typer
from sqlalchemy import select

from mikrosync.mpesa_sim import SimConfig
from mikrosync.mpesa_sim.app import MpesaSim
from mikrosync.mpesa_sim.server import running_mpesa
from mikrosync.packages.models import Package
from mikrosync.payments.mpesa import account as accounts
from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber, SuspendReason

log = logging.getLogger(__name__)

FIRST_PAYMENT_S = 20.0
PAY_EVERY_S = 15.0
PAYERS_PER_ROUND = 2
UNKNOWN_ACCOUNT = "WRONG-ACCT-42"


async def _configure(runtime: Runtime, tenant_id: int, sim_url: str, server_url: str) -> str:
    """Point the demo tenant's M-Pesa account at the simulator; the confirmation URL."""
    config = SimConfig()
    data = accounts.MpesaAccountWrite(
        shortcode=config.shortcode,
        api_url=sim_url,
        callback_base_url=server_url,
        consumer_key=config.consumer_key,
        consumer_secret=config.consumer_secret,
        passkey=config.passkey,
    )
    async with runtime.sessionmaker() as session:
        saved = await accounts.save_account(
            session, tenant_id=tenant_id, data=data, vault=runtime.vault
        )
        if saved.callback_urls is None:  # reused demo data: make a URL we know
            saved = await accounts.rotate_token(session, tenant_id=tenant_id, vault=runtime.vault)
    assert saved.callback_urls is not None
    return saved.callback_urls.confirmation


async def _expired(runtime: Runtime, tenant_id: int) -> list[tuple[str, str]]:
    """(username, price) of a few subscribers cut for expiry."""
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(Subscriber.username, Package.price)
            .join(Package, Package.id == Subscriber.package_id)
            .where(
                Subscriber.tenant_id == tenant_id,
                Subscriber.is_suspended.is_(True),
                Subscriber.suspend_reason == SuspendReason.EXPIRED,
            )
            .order_by(Subscriber.expires_at)
            .limit(PAYERS_PER_ROUND)
        )
        return [(username, f"{price:.2f}") for username, price in rows]


async def _pay(
    runtime: Runtime, tenant_id: int, sim: MpesaSim, url: str, stop: asyncio.Event
) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=FIRST_PAYMENT_S)
    if stop.is_set():
        return
    sent = sim.c2b(amount="50.00", account=UNKNOWN_ACCOUNT, msisdn="254700000042", url=url)
    typer.echo(
        f"  M-Pesa: 50.00 paid to unknown account {UNKNOWN_ACCOUNT} ({sent['TransID']}): "
        "see Payments, unmatched"
    )
    while not stop.is_set():
        for username, price in await _expired(runtime, tenant_id):
            sent = sim.c2b(amount=price, account=username, msisdn="254711000000", url=url, copies=2)
            typer.echo(f"  M-Pesa: {username} paid {price} ({sent['TransID']}, sent twice)")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PAY_EVERY_S)


@contextlib.asynccontextmanager
async def simulated_payments(
    runtime: Runtime, tenant_id: int, server_url: str, stop: asyncio.Event
) -> AsyncIterator[str]:
    """Run the M-Pesa simulator and the demo's payers until the block ends; yields its URL."""
    async with running_mpesa(SimConfig()) as running:
        url = await _configure(runtime, tenant_id, running.url, server_url)
        task = asyncio.create_task(_pay(runtime, tenant_id, running.sim, url, stop))
        try:
            yield running.url
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
