"""Workload 9: month end. N online subscribers (20,000 in full) spread over 10 routers, all
expiring at the same instant, as most of an ISP's subscribers do at the end of a month.

Time = from that instant to the last live session removed on any router (the routers' own
clocks, from the simhost's write log); against the router-model bound of the busiest router
(each disconnect is a `set` to disable and a `remove` of the session) and the pipelined
limit. Worker CPU per subscriber and every part's CPU-seconds are taken from the instant to
the end. Set-up is workload 5's: a CSV import with `expires_at`, sync, dial-in, all before the
instant (it raises, saying by how much, if the set-up overran it). The time allowed is
`month_end_setup_s` per subscriber: 0.03 s in full, 4x what today's engine needs over 10
routers on a quiet machine (about 135 subscribers/s).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.bound import DISCONNECT_ONLINE, workload_bound
from bench.figures import bound_rows, cpu_rows
from bench.profiles import Profile
from bench.report import WorkloadResult, percentile
from bench.stack import Services, running
from bench.w5_expiry import MODEL, expire_online


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("9", "month end")
    m = profile.month_end_subscribers
    routers = profile.month_end_routers
    async with running(services, "w9", routers, MODEL) as (stack, site):
        expires, gone, slack, writes, cpu = await expire_online(
            stack, site, profile, "m", [0.0] * m, profile.month_end_setup_s
        )
        indexes = set(site.sims.indexes)
    instant = min(expires.values())
    if len(gone) < m:
        raise RuntimeError(f"only {len(gone)} of {m} sessions ended")
    last_gone = max(gone.values()) - instant
    # expire_online spreads the names round-robin over the routers
    per_router = {i: (m // routers + (i < m % routers)) * DISCONNECT_ONLINE for i in range(routers)}
    bound = workload_bound(per_router, MODEL)
    lags = [(t - instant) * 1000 for t in gone.values()]
    result.figure(
        "last session gone after the instant",
        last_gone,
        "s",
        f"{m} online subscribers over {routers} routers; p50 {percentile(lags, 50) / 1000:.2f} s; "
        f"set-up finished {slack:.1f} s before the instant",
    )
    bound_rows(result, "month end: last session gone", last_gone, bound)
    commands = Counter(
        w.command for w in writes if w.router in indexes and not w.command.startswith("/system")
    )
    result.figure(
        "router commands per disconnect",
        sum(commands.values()) / m,
        "",
        ", ".join(f"{c} {n / m:.2f}" for c, n in commands.most_common())
        + "; minimum 2 (set disabled, remove the session)",
    )
    cpu_rows(result, "month end", cpu, last_gone, m)
    result.latencies_ms["month end: instant → session gone"] = lags
    result.throughput.append(("month-end disconnects, 10 routers", m, m / last_gone))
    result.raw = {
        "subscribers": m,
        "routers": routers,
        "last_gone_s": last_gone,
        "bound_s": bound.seconds,
        "bound": bound.arithmetic,
        "pipelined_limit_s": bound.pipelined_seconds,
        "pipelined_limit": bound.pipelined_arithmetic,
        "writes": dict(commands),
        "cpu_seconds": cpu,
        "setup_slack_s": slack,
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
    }
    return result
