"""Workload 7: scale-out. Bulk provisioning over 50 routers with one worker process, then
with two (fresh stack and routers each time), twice:

- at the routers of workload 1 (RTT 20 ms, service 0.5 ms): throughput 1 → 2 workers, and
  subscribers synced per worker CPU-second with 2 workers ÷ that with 1 (goal ≥ 0.85: what a
  second worker costs in contention — lease conflicts, duplicate router reads, lock waits —
  which a 2-core machine shared with PostgreSQL and the routers cannot hide);
- at RTT 0 and service 0, where the workers are the limit: throughput 1 → 2 workers (goal
  ≥ 1.7).

The CPU-seconds of every part are reported beside each run, so a run the machine's cores
(not the workers) limited can be told.
"""

from __future__ import annotations

import os
from typing import Any

from bench.bulk import BulkRun, bulk_provision
from bench.figures import bound_rows, cpu_rows, cpu_split
from bench.profiles import Profile
from bench.report import WorkloadResult
from bench.simclient import RouterModel
from bench.stack import Services, running
from bench.w1_bulk import MODEL

INSTANT = RouterModel(rtt_ms=0, service_ms=0, max_sessions=20)


async def _one(services: Services, profile: Profile, workers: int, model: RouterModel) -> BulkRun:
    name = f"w7-{workers}w-rtt{model.rtt_ms:g}"
    async with running(services, name, profile.scale_routers, model, workers=workers) as (
        stack,
        site,
    ):
        return await bulk_provision(
            stack, site, profile.scale_subscribers, prefix="x", timeout=profile.timeout_s
        )


def _per_cpu_s(run: BulkRun) -> float:
    """Subscribers synced per worker CPU-second (sync window)."""
    return run.subscribers / max(run.cpu_sync.get("workers", 0.0), 1e-9)


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("7", "scale-out")
    one = await _one(services, profile, 1, MODEL)
    two = await _one(services, profile, 2, MODEL)
    one_0 = await _one(services, profile, 1, INSTANT)
    two_0 = await _one(services, profile, 2, INSTANT)
    size = f"{profile.scale_subscribers} subscribers over {profile.scale_routers} routers"
    for label, run_ in (("1 worker", one), ("2 workers", two)):
        result.figure(
            f"{label}: throughput",
            run_.synced_per_s,
            "subscribers/s",
            cpu_split(run_.cpu_sync, run_.sync_s),
        )
    bound_rows(result, "1 worker: sync", one.sync_s, one.bound, goal=False)
    bound_rows(result, "2 workers: sync", two.sync_s, two.bound, goal=False)
    cpu_rows(result, "1 worker", one.cpu_sync, one.sync_s, one.subscribers)
    cpu_rows(result, "2 workers", two.cpu_sync, two.sync_s, two.subscribers, goal=False)
    result.figure(
        "2 workers ÷ 1 worker (RTT 20 ms)",
        two.synced_per_s / one.synced_per_s,
        "x",
        f"{size}; this machine has {os.cpu_count()} CPUs",
    )
    result.at_least(
        "subscribers per worker CPU-second, 2 workers ÷ 1",
        _per_cpu_s(two) / _per_cpu_s(one),
        0.85,
        "x",
        f"1 worker: {_per_cpu_s(one):.0f}/CPU-s ({one.cpu_sync.get('workers', 0.0):.2f} CPU-s), "
        f"2 workers: {_per_cpu_s(two):.0f}/CPU-s ({two.cpu_sync.get('workers', 0.0):.2f} CPU-s)"
        " (RTT 20 ms)",
    )
    for label, run_ in (("1 worker", one_0), ("2 workers", two_0)):
        result.figure(
            f"{label}, routers at RTT 0 / service 0: throughput",
            run_.synced_per_s,
            "subscribers/s",
            cpu_split(run_.cpu_sync, run_.sync_s),
        )
    result.at_least(
        "2 workers ÷ 1 worker, routers at RTT 0 / service 0",
        two_0.synced_per_s / one_0.synced_per_s,
        1.7,
        "x",
        f"{size}, the workers the limit; this machine has {os.cpu_count()} CPUs, shared "
        "with PostgreSQL and the routers (see the CPU split of each run)",
    )
    result.throughput += [
        ("sync over 50 routers, 1 worker", one.subscribers, one.synced_per_s),
        ("sync over 50 routers, 2 workers", two.subscribers, two.synced_per_s),
        ("sync over 50 routers at RTT 0, 1 worker", one_0.subscribers, one_0.synced_per_s),
        ("sync over 50 routers at RTT 0, 2 workers", two_0.subscribers, two_0.synced_per_s),
    ]
    result.raw = {
        "one": one.as_dict(),
        "two": two.as_dict(),
        "one_rtt0": one_0.as_dict(),
        "two_rtt0": two_0.as_dict(),
    }
    return result
