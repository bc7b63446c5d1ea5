"""Workload 8: payments (issue 15).

A: N subscribers cut for expiry (secret disabled on the router) each pay by M-Pesa paybill:
   the confirmation callback is posted to `mikrosync serve` (with a duplicate alongside, as
   Daraja sends), paced. Latency per payment = the router's clock at the `/ppp/secret/set`
   that enables the subscriber again minus the moment the callback was sent. Goal p99 ≤ 1 s
   at RTT 20 ms.
B: C callbacks (1,000 in full), 30 % of them duplicates of others, all sent at once over the
   same subscribers. Goals: exactly one payment per TransID, and every wallet's ledger sums
   to its balance (checked in the database).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from bench.bulk import seed_subscribers
from bench.profiles import Profile
from bench.report import WorkloadResult, percentile
from bench.simclient import RouterModel
from bench.stack import Services, Stack, running, spread, usernames
from mikrosync.mpesa_sim import MpesaSim, SimConfig

MODEL = RouterModel(rtt_ms=20, service_ms=0.5, max_sessions=20)
ROUTERS = 4
PRICE = "20.00"
PACE_S = 0.05
DUPLICATE_SHARE = 0.3
SENDERS = 50


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


async def _wait_cut(stack: Stack, names: list[str], timeout: float) -> None:
    assert stack.db is not None
    deadline = time.monotonic() + timeout
    while True:
        cut = await stack.db.fetchval(
            "SELECT count(*) FROM subscribers WHERE username = ANY($1::text[]) "
            "AND is_suspended AND sync_status = 'synced'",
            names,
        )
        if cut == len(names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {cut} of {len(names)} subscribers were cut for expiry")
        await asyncio.sleep(0.5)


async def _confirmation_url(stack: Stack, api_url: str) -> str:
    config = SimConfig()
    response = await stack.api.http.put(
        "/mpesa/account",
        json={
            "shortcode": config.shortcode,
            "api_url": api_url,
            "callback_base_url": stack.api.root,
            "consumer_key": config.consumer_key,
            "consumer_secret": config.consumer_secret,
        },
        headers=stack.api.headers,
    )
    response.raise_for_status()
    url: str = response.json()["callback_urls"]["confirmation"]
    return url


async def _post(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> int:
    response = await http.post(url, content=json.dumps(body))
    return response.status_code


async def _latencies(
    stack: Stack, http: httpx.AsyncClient, url: str, names: list[str], timeout: float
) -> tuple[dict[str, float], dict[str, float], Counter[int], list[float]]:
    sim = MpesaSim()
    sent: dict[str, float] = {}
    statuses: Counter[int] = Counter()
    await stack.services.simhost.mark_log()
    answered: dict[str, float] = {}

    async def pay(name: str, body: dict[str, Any]) -> None:
        pair = await asyncio.gather(_post(http, url, body), _post(http, url, body))
        answered[name] = time.time()
        statuses.update(pair)

    tasks = []
    for name in names:
        body = sim.c2b_body(amount=PRICE, account=name, msisdn="254700000000")
        sent[name] = time.time()
        tasks.append(asyncio.create_task(pay(name, body)))
        await asyncio.sleep(PACE_S)
    await asyncio.gather(*tasks)
    enabled: dict[str, float] = {}
    deadline = time.time() + timeout
    while len(enabled) < len(names) and time.time() < deadline:
        for entry in await stack.services.simhost.new_writes():
            if entry.command == "/ppp/secret/set":
                for name in entry.names:
                    if name in sent and entry.at >= sent[name]:
                        enabled.setdefault(name, entry.at)
        await asyncio.sleep(0.2)
    api_ms = [(answered[k] - sent[k]) * 1000 for k in sent]
    return sent, enabled, statuses, api_ms


async def _burst(
    http: httpx.AsyncClient, url: str, names: list[str], count: int
) -> tuple[list[str], Counter[int], float]:
    rng = random.Random(8)
    sim = MpesaSim()
    originals = [
        sim.c2b_body(
            amount=rng.choice(["10", "20", "35.50"]),
            account=rng.choice(names),
            msisdn="254700000000",
            trans_id=f"B{i:06d}",
        )
        for i in range(int(count * (1 - DUPLICATE_SHARE)))
    ]
    bodies = originals + [rng.choice(originals) for _ in range(count - len(originals))]
    rng.shuffle(bodies)
    gate = asyncio.Semaphore(SENDERS)

    async def send(body: dict[str, Any]) -> int:
        async with gate:
            return await _post(http, url, body)

    started = time.monotonic()
    statuses = Counter(await asyncio.gather(*(send(b) for b in bodies)))
    return [b["TransID"] for b in originals], statuses, time.monotonic() - started


async def _ledger_errors(stack: Stack) -> int:
    """Wallets whose ledger does not sum to their balance."""
    assert stack.db is not None
    rows = await stack.db.fetch(
        "SELECT w.subscriber_id, w.balance, "
        "COALESCE(SUM(CASE e.kind WHEN 'credit' THEN e.amount WHEN 'debit' THEN -e.amount "
        "ELSE 0 END), 0) AS total "
        "FROM wallets w LEFT JOIN wallet_entries e ON e.subscriber_id = w.subscriber_id "
        "WHERE w.tenant_id = $1 GROUP BY w.subscriber_id, w.balance",
        stack.tenant_id,
    )
    return sum(Decimal(row["balance"]) != Decimal(row["total"]) for row in rows)


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("11", "payments")
    n = profile.payment_subscribers
    async with running(services, "w8", ROUTERS, MODEL) as (stack, site):
        await stack.api.patch(f"/packages/{site.package_id}", {"price": PRICE})
        setup = max(15.0, n * 0.15)
        expiry = time.time() + setup
        names = usernames("pay", n)
        await seed_subscribers(
            stack,
            site,
            spread(names, ROUTERS),
            timeout=setup,
            expires_at={name: _iso(expiry) for name in names},
        )
        await _wait_cut(stack, names, setup + profile.timeout_s)
        url = await _confirmation_url(stack, "http://127.0.0.1:9")  # no STK in this workload
        async with httpx.AsyncClient(timeout=60) as http:
            sent, enabled, statuses_a, api_ms = await _latencies(
                stack, http, url, names, profile.timeout_s
            )
            references, statuses_b, took = await _burst(http, url, names, profile.payment_callbacks)
        assert stack.db is not None
        counts = await stack.db.fetch(
            "SELECT provider_reference, count(*) FROM payments WHERE tenant_id = $1 "
            "AND provider_reference LIKE 'B%' GROUP BY provider_reference",
            stack.tenant_id,
        )
        ledger_errors = await _ledger_errors(stack)
    latencies = [(enabled[k] - sent[k]) * 1000 for k in sent if k in enabled]
    missing = len(sent) - len(latencies)
    result.latencies_ms["A: callback → secret enabled"] = latencies
    result.figure(
        "A: callback → secret enabled p50",
        percentile(latencies, 50),
        "ms",
        f"{n} expired subscribers, each callback sent twice, one every {PACE_S * 1000:g} ms, "
        f"RTT {MODEL.rtt_ms} ms; answers {dict(statuses_a)}"
        + (f"; {missing} never enabled" if missing else ""),
    )
    result.figure(
        "A: callback → answered (both copies) p99",
        percentile(api_ms, 99),
        "ms",
        "the API's part: match, record, credit, renew, intent, commit, job push",
    )
    row = result.at_most("A: callback → secret enabled p99", percentile(latencies, 99), 1000, "ms")
    if missing:
        row.passed = False
    per_reference = Counter(int(r["count"]) for r in counts)
    exact = {r["provider_reference"] for r in counts} == set(references)
    duplicates_ok = exact and set(per_reference) == {1}
    row = result.at_most(
        "B: payments per TransID (max)",
        max(per_reference) if per_reference else 0,
        1,
        "",
        f"{profile.payment_callbacks} callbacks at once ({SENDERS} senders), "
        f"{DUPLICATE_SHARE:.0%} duplicates, {len(references)} distinct TransIDs, "
        f"{'all' if exact else 'NOT all'} recorded; answers {dict(statuses_b)}; {took:.1f} s",
    )
    row.passed = row.passed and duplicates_ok
    result.at_most("B: wallets whose ledger does not sum to the balance", ledger_errors, 0)
    result.raw = {
        "a_p50_ms": percentile(latencies, 50),
        "a_p99_ms": percentile(latencies, 99),
        "a_missing": missing,
        "a_api_p99_ms": percentile(api_ms, 99),
        "b_callbacks": profile.payment_callbacks,
        "b_distinct": len(references),
        "b_per_reference": dict(per_reference),
        "b_seconds": took,
        "b_ledger_errors": ledger_errors,
    }
    result.throughput.append(
        ("payment callbacks", profile.payment_callbacks, profile.payment_callbacks / took)
    )
    return result
