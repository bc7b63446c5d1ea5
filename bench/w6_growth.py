"""Workload 6: growth. Item 1 (mikrosync's side) at 1x and at 10x the subscribers, same
routers and knobs; the ratio of times should stay near 10 (goal ≤ 11).

The 1x figure is workload 1's from this same run when it ran; otherwise 1x runs here too.
"""

from __future__ import annotations

from typing import Any

from bench.bulk import BulkRun
from bench.figures import bound_rows, cpu_rows
from bench.profiles import Profile
from bench.report import WorkloadResult
from bench.stack import Services
from bench.w1_bulk import ours


async def run(services: Services, profile: Profile, context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("6", "growth")
    small: BulkRun | None = context.get("bulk_1x")
    if small is None:
        small, _, _ = await ours(services, profile, profile.bulk_subscribers, "w6-1x")
    big, _, _ = await ours(services, profile, profile.bulk_subscribers * profile.growth, "w6-10x")
    factor = big.subscribers / small.subscribers
    result.figure(
        f"sync time at 1x ({small.subscribers}) and {factor:g}x ({big.subscribers})",
        big.sync_s,
        "s",
        f"1x: {small.sync_s:.2f} s, {factor:g}x: {big.sync_s:.2f} s",
    )
    result.at_most(f"sync time {factor:g}x ÷ 1x", big.sync_s / small.sync_s, 11, "x")
    result.figure(
        f"ingestion time {factor:g}x ÷ 1x",
        big.ingest_s / small.ingest_s,
        "x",
        f"1x: {small.ingest_s:.2f} s ({small.rows_per_s:.0f} rows/s), "
        f"{factor:g}x: {big.ingest_s:.2f} s ({big.rows_per_s:.0f} rows/s)",
    )
    bound_rows(result, f"sync at {factor:g}x", big.sync_s, big.bound, goal=False)
    result.figure(f"router commands per subscriber at {factor:g}x", big.commands_per_subscriber, "")
    cpu_rows(result, f"sync at {factor:g}x", big.cpu_sync, big.sync_s, big.subscribers)
    result.throughput += [
        ("mikrosync sync", run.subscribers, run.synced_per_s) for run in (small, big)
    ] + [("CSV ingestion", run.subscribers, run.rows_per_s) for run in (small, big)]
    result.raw = {"1x": small.as_dict(), "10x": big.as_dict()}
    return result
