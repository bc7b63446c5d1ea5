"""Many M-Pesa callbacks at once, 30 % of them duplicates, over a few subscribers: exactly
one payment per TransID, and every wallet's ledger sums to its balance (the benchmark's
invariant, at test size)."""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select

from mikrosync.payments.models import EntryKind, Payment, Wallet, WalletEntry
from mikrosync.runtime import Runtime
from tests.plugins.payments import MpesaSite

CALLBACKS = 150
DUPLICATE_SHARE = 0.3
SUBSCRIBERS = 6


async def test_concurrent_callbacks_with_duplicates_keep_the_ledger_exact(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    rng = random.Random(15)
    created = [await mpesa.subscriber(phone=f"07120000{i:02d}") for i in range(SUBSCRIBERS)]
    sim = mpesa.running.sim
    url = mpesa.urls["confirmation"]
    originals = []
    for index in range(int(CALLBACKS * (1 - DUPLICATE_SHARE))):
        payer = rng.choice(created)
        amount = rng.choice(["10", "30", "45.50", "60"])
        originals.append(
            sim.c2b_body(
                amount=amount,
                account=payer["username"],
                msisdn="254700000000",
                trans_id=f"INV{index:05d}",
            )
        )
    bodies = originals + [rng.choice(originals) for _ in range(CALLBACKS - len(originals))]
    rng.shuffle(bodies)
    for body in bodies:
        sim.send_later(url, json.dumps(body))
    await sim.idle(timeout=120)

    answers = [d for d in sim.deliveries if d.url == url]
    assert len(answers) == CALLBACKS
    failed = [d.error or d.status for d in answers if d.status != 200]
    assert not failed, Counter(failed)
    tenant_id = mpesa.owner.tenant_id
    async with runtime.sessionmaker() as session:
        references = Counter(
            (
                await session.scalars(
                    select(Payment.provider_reference).where(
                        Payment.tenant_id == tenant_id, Payment.provider_reference.like("INV%")
                    )
                )
            ).all()
        )
        assert set(references) == {b["TransID"] for b in originals}
        assert set(references.values()) == {1}
        credited = await session.scalar(
            select(func.count()).where(
                WalletEntry.tenant_id == tenant_id, WalletEntry.kind == EntryKind.CREDIT
            )
        )
        assert credited == len(originals)
        for subscriber in created:
            wallet = await session.get(Wallet, subscriber["id"])
            entries = (
                await session.scalars(
                    select(WalletEntry)
                    .where(WalletEntry.subscriber_id == subscriber["id"])
                    .order_by(WalletEntry.id)
                )
            ).all()
            running = Decimal("0")
            for entry in entries:
                running += entry.amount if entry.kind == EntryKind.CREDIT else -entry.amount
                assert entry.balance_after == running  # each line's balance is exact
            assert wallet is not None and wallet.balance == running
            assert wallet.balance >= 0
