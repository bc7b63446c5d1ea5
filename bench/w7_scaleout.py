"""Workload 7: scale-out. Bulk provisioning over 50 routers with one worker process, then
with two (fresh stack and routers each time); the throughput ratio should be ≥ 1.7 until
the machine runs out of CPU, so the CPU seconds of every part are reported beside it.
"""

from __future__ import annotations

import os
from typing import Any

from bench.bulk import BulkRun, bulk_provision
from bench.profiles import Profile
from bench.report import WorkloadResult
from bench.stack import Services, running
from bench.w1_bulk import MODEL


async def _one(services: Services, profile: Profile, workers: int) -> BulkRun:
    async with running(
        services, f"w7-{workers}w", profile.scale_routers, MODEL, workers=workers
    ) as (stack, site):
        return await bulk_provision(
            stack, site, profile.scale_subscribers, prefix="x", timeout=profile.timeout_s
        )


def _cpu(run: BulkRun) -> str:
    busy = sum(run.cpu_sync.values())
    parts = ", ".join(f"{k} {v:.1f}" for k, v in run.cpu_sync.items())
    return f"{busy:.1f} CPU-s in {run.sync_s:.1f} s ({busy / run.sync_s:.2f} cores): {parts}"


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("7", "scale-out")
    one = await _one(services, profile, 1)
    two = await _one(services, profile, 2)
    result.figure("1 worker: throughput", one.synced_per_s, "subscribers/s", _cpu(one))
    result.figure("2 workers: throughput", two.synced_per_s, "subscribers/s", _cpu(two))
    result.at_least(
        "2 workers ÷ 1 worker",
        two.synced_per_s / one.synced_per_s,
        1.7,
        "x",
        f"{profile.scale_subscribers} subscribers over {profile.scale_routers} routers; "
        f"this machine has {os.cpu_count()} CPUs",
    )
    result.throughput += [
        ("sync over 50 routers, 1 worker", one.subscribers, one.synced_per_s),
        ("sync over 50 routers, 2 workers", two.subscribers, two.synced_per_s),
    ]
    result.raw = {"one": one.as_dict(), "two": two.as_dict()}
    return result
