"""Workload 3: the API is isolated from the routers.

API write requests (suspend / reconnect, which make router work for the workers) are timed
while every router answers at RTT 1 ms, and again at RTT 200 ms. To keep the machine's noise
out of the ratio, the two settings alternate in blocks (1 ms, 200 ms, 1 ms, 200 ms), so both
sides are measured over the same minutes. Workers run throughout; at 200 ms they fall behind
and jobs pile up in Redis, which the API must not feel.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.bulk import Member, seed_subscribers
from bench.profiles import Profile
from bench.report import WorkloadResult, percentile
from bench.simclient import RouterModel
from bench.stack import Services, Stack, running, spread, usernames

FAST, SLOW = 1.0, 200.0
MODEL = RouterModel(rtt_ms=FAST, service_ms=0.5, max_sessions=20)
ROUTERS = 4
BLOCKS = 4


async def _block(stack: Stack, members: list[Member], writes: int, clients: int) -> list[float]:
    """`writes` suspend-or-reconnect requests from `clients` concurrent clients."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(writes):
        queue.put_nowait(n)
    latencies: list[float] = []
    suspended: set[int] = set()

    async def client() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            member = members[n % len(members)]
            action = "connect" if member.id in suspended else "suspend"
            (suspended.discard if action == "connect" else suspended.add)(member.id)
            started = time.perf_counter()
            await stack.api.action(member.id, action)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("3", "API isolated from routers")
    samples: dict[float, list[float]] = {FAST: [], SLOW: []}
    backlog: dict[float, int] = {}
    async with running(services, "w3", ROUTERS, MODEL) as (stack, site):
        count = max(50, profile.api_writes // BLOCKS)
        names = spread(usernames("i", count), ROUTERS)
        members = await seed_subscribers(stack, site, names, timeout=profile.timeout_s)
        per_block = profile.api_writes // (BLOCKS // 2)
        for block in range(BLOCKS):
            rtt = FAST if block % 2 == 0 else SLOW
            await services.simhost.set_latency(site.sims, rtt)
            samples[rtt] += await _block(stack, members, per_block, profile.api_clients)
            counts = await stack.status_counts(site.router_ids)
            backlog[rtt] = max(
                backlog.get(rtt, 0), counts.get("pending", 0) + counts.get("syncing", 0)
            )
        await services.simhost.set_latency(site.sims, FAST)
    fast99, slow99 = percentile(samples[FAST], 99), percentile(samples[SLOW], 99)
    for rtt in (FAST, SLOW):
        result.latencies_ms[f"API write at RTT {rtt:g} ms"] = samples[rtt]
        result.figure(
            f"API write latency at RTT {rtt:g} ms: p50",
            percentile(samples[rtt], 50),
            "ms",
            f"p99 {percentile(samples[rtt], 99):.0f} ms; {len(samples[rtt])} requests, "
            f"{profile.api_clients} clients; up to {backlog[rtt]} subscribers waiting for sync",
        )
    result.at_most("p99 at 200 ms ÷ p99 at 1 ms", slow99 / fast99, 1.1, "x")
    result.figure(
        "p50 at 200 ms ÷ p50 at 1 ms",
        percentile(samples[SLOW], 50) / percentile(samples[FAST], 50),
        "x",
        "no goal; shown because the p99 of a few hundred samples is noisy",
    )
    result.raw = {
        "fast_p50_ms": percentile(samples[FAST], 50),
        "fast_p99_ms": fast99,
        "slow_p50_ms": percentile(samples[SLOW], 50),
        "slow_p99_ms": slow99,
        "backlog": {str(k): v for k, v in backlog.items()},
    }
    return result
