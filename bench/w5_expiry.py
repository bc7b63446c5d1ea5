"""Workload 5: expiry.

A: N subscribers (1,000 in full) expiring spread evenly over a window (one minute in full),
   each online. Lag per subscriber = the router's clock when its live session was removed
   minus its `expires_at`. Goal p99 ≤ 2 s.
B: M subscribers (5,000 in full) on ONE router, all online, expiring at the same instant.
   Time = from that instant to the router's last write of the disconnects; against the
   router-model bound (each needs a `set` to disable and a `remove` of the session).

Subscribers are imported (CSV, `expires_at` column) with expiry far enough ahead that their
creation syncs and they dial in first; the run checks that it did, and says so if not.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.bound import DISCONNECT_ONLINE, workload_bound
from bench.bulk import seed_subscribers
from bench.figures import bound_rows, cpu_rows
from bench.profiles import Profile
from bench.report import WorkloadResult, percentile
from bench.simclient import RouterModel, WriteEntry
from bench.stack import Services, Site, Stack, cpu_delta, running, spread, usernames

MODEL = RouterModel(rtt_ms=20, service_ms=0.5, max_sessions=20)
SPREAD_ROUTERS = 10
# Seconds of set-up allowed per subscriber before the first expiry (import, sync, dial-in).
SETUP_S_PER_SUBSCRIBER = 0.12
SETUP_S_MIN = 20.0  # the first seconds go to workers picking up; a loaded machine needs more


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


async def _online(stack: Stack, site: Site, names_by_router: list[list[str]]) -> int:
    online = 0
    for index, names in zip(site.sims.indexes, names_by_router, strict=True):
        for start in range(0, len(names), 500):
            online += await stack.services.simhost.dial_in(index, names[start : start + 500])
    return online


async def _gone(
    stack: Stack, names: set[str], deadline: float
) -> tuple[dict[str, float], list[WriteEntry]]:
    """Watch the write log until every name's `/ppp/active/remove` (its session gone) was
    seen, or `deadline`; return when each went, and every write seen."""
    gone: dict[str, float] = {}
    seen: list[WriteEntry] = []
    while len(gone) < len(names) and time.time() < deadline:
        await asyncio.sleep(0.2)
        entries = await stack.services.simhost.new_writes()
        seen += entries
        for entry in entries:
            if entry.command == "/ppp/active/remove":
                for name in entry.names:
                    if name in names:
                        gone.setdefault(name, entry.at)
    await asyncio.sleep(0.5)  # the disables that follow the last kick
    return gone, seen + await stack.services.simhost.new_writes()


async def expire_online(
    stack: Stack,
    site: Site,
    profile: Profile,
    prefix: str,
    offsets: list[float],
    setup_s_per_subscriber: float = SETUP_S_PER_SUBSCRIBER,
) -> tuple[dict[str, float], dict[str, float], float, list[WriteEntry], dict[str, float]]:
    """Import len(offsets) online subscribers expiring at T0 + offset; return each one's
    expiry, the time its session went, the set-up slack, all writes meanwhile, and the CPU
    seconds of each part from T0 until the last session went."""
    count = len(offsets)
    setup = max(SETUP_S_MIN, count * setup_s_per_subscriber)
    t0 = time.time() + setup
    names = usernames(prefix, count)
    expires = {n: t0 + off for n, off in zip(names, offsets, strict=True)}
    by_router = spread(names, len(site.router_ids))
    await seed_subscribers(
        stack,
        site,
        by_router,
        timeout=setup,
        expires_at={n: _iso(t) for n, t in expires.items()},
    )
    online = await _online(stack, site, by_router)
    if online != count:
        raise RuntimeError(f"only {online} of {count} subscribers came online")
    slack = t0 - time.time()
    if slack < 0:
        raise RuntimeError(f"set-up overran the first expiry by {-slack:.1f} s")
    await stack.services.simhost.mark_log()
    # Idle until just before T0, so the CPU measured is the expiry's (the log keeps every
    # write meanwhile, none is missed).
    await asyncio.sleep(max(0.0, t0 - time.time() - 0.05))
    cpu_before = stack.cpu()
    gone, writes = await _gone(stack, set(names), t0 + max(offsets) + profile.timeout_s)
    return expires, gone, slack, writes, cpu_delta(cpu_before, stack.cpu())


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("5", "expiry")
    # A: spread over the window
    n = profile.expiry_spread
    offsets = [profile.expiry_spread_s * i / n for i in range(n)]
    async with running(services, "w5", SPREAD_ROUTERS, MODEL) as (stack, site):
        expires, gone, slack, _, _ = await expire_online(stack, site, profile, "a", offsets)
        # B (reported below) on the same stack, on a router of its own
        single = await stack.site(1, MODEL, label="b")
        b_index = single.sims.indexes[0]
        m = profile.expiry_instant
        expires_b, gone_b, slack_b, writes_b, cpu_b = await expire_online(
            stack, single, profile, "b", [0.0] * m
        )
    lags = [(gone[k] - expires[k]) * 1000 for k in expires if k in gone]
    missing = len(expires) - len(lags)
    result.latencies_ms["A: expires_at → session gone"] = lags
    result.figure(
        "A: expires_at → session gone p50",
        percentile(lags, 50),
        "ms",
        f"{n} online subscribers over {profile.expiry_spread_s:g} s on {SPREAD_ROUTERS} routers"
        + (f"; {missing} never disconnected" if missing else ""),
    )
    row = result.at_most("A: expires_at → session gone p99", percentile(lags, 99), 2000, "ms")
    if missing:
        row.passed = False
    # B: one instant, one router
    instant = min(expires_b.values())
    if len(gone_b) < m:
        raise RuntimeError(f"B: only {len(gone_b)} of {m} sessions ended")
    disabled = [w.at for w in writes_b if w.command == "/ppp/secret/set"]
    finished = max([*gone_b.values(), *disabled])
    took = finished - instant
    bound = workload_bound({0: m * DISCONNECT_ONLINE}, MODEL)
    result.figure(
        "B: one instant, one router: time to all disconnected",
        took,
        "s",
        f"{m} online subscribers; last session gone {max(gone_b.values()) - instant:.2f} s after",
    )
    commands = Counter(
        w.command for w in writes_b if w.router == b_index and not w.command.startswith("/system")
    )
    per_subscriber = sum(commands.values()) / m
    result.figure(
        "B: router commands per disconnect",
        per_subscriber,
        "",
        ", ".join(f"{c} {n / m:.1f}" for c, n in commands.most_common())
        + "; minimum 2 (set disabled, remove the session)",
    )
    bound_rows(result, "B: time", took, bound)
    cpu_rows(result, "B", cpu_b, took, m)
    result.raw = {
        "a_p50_ms": percentile(lags, 50),
        "a_p99_ms": percentile(lags, 99),
        "a_missing": missing,
        "a_setup_slack_s": slack,
        "b_seconds": took,
        "b_bound_s": bound.seconds,
        "b_bound": bound.arithmetic,
        "b_pipelined_limit_s": bound.pipelined_seconds,
        "b_pipelined_limit": bound.pipelined_arithmetic,
        "b_cpu_seconds": cpu_b,
        "b_commands": dict(commands),
        "b_setup_slack_s": slack_b,
        "b_lag_p50_ms": percentile([(t - instant) * 1000 for t in gone_b.values()], 50),
    }
    result.latencies_ms["B: instant → session gone"] = [
        (t - instant) * 1000 for t in gone_b.values()
    ]
    result.throughput.append(("expiry disconnects, one router", m, m / took))
    return result
