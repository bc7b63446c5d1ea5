"""Workload 1: bulk provisioning (10,000 subscribers over 10 routers at RTT 20 ms in full).

Both sides get a fresh stack, fresh routers with the same knobs and the same CSV files, one
after the other in this run: mikrosync (`mikrosync worker`, default settings) and the seed's
design (`bench.baseline`: one serial worker, a new connection per job). Then single REST
creations from 50 concurrent clients on mikrosync's stack.
"""

from __future__ import annotations

from typing import Any

from bench.bulk import BulkRun, bulk_provision, rest_create
from bench.figures import bound_rows, cpu_rows
from bench.profiles import Profile
from bench.report import WorkloadResult, percentile
from bench.simclient import RouterModel
from bench.stack import Services, running, spread, usernames

MODEL = RouterModel(rtt_ms=20, service_ms=0.5, max_sessions=20)


async def ours(
    services: Services, profile: Profile, count: int, name: str, rest: int = 0
) -> tuple[BulkRun, float, list[float]]:
    """mikrosync's bulk run; then, on the same stack once idle, `rest` single creations
    (elapsed seconds and latencies; 0 and [] when `rest` is 0)."""
    async with running(services, name, profile.bulk_routers, MODEL) as (stack, site):
        run = await bulk_provision(stack, site, count, prefix="b", timeout=profile.timeout_s)
        if not rest:
            return run, 0.0, []
        names = spread(usernames("s", rest), len(site.router_ids))
        items = [
            (router_id, site.package_id, name)
            for router_id, chunk in zip(site.router_ids, names, strict=True)
            for name in chunk
        ]
        elapsed, latencies = await rest_create(stack.api, items, profile.rest_clients)
        return run, elapsed, latencies


async def seed(services: Services, profile: Profile) -> BulkRun:
    async with running(services, "w1-seed", profile.bulk_routers, MODEL, baseline=True) as (
        stack,
        site,
    ):
        return await bulk_provision(
            stack, site, profile.bulk_subscribers, prefix="b", timeout=profile.timeout_s
        )


def bulk_rows(result: WorkloadResult, run: BulkRun, label: str) -> None:
    result.figure(
        f"{label}: ingestion",
        run.rows_per_s,
        "rows/s",
        f"{run.subscribers} rows via {run.via} in {run.ingest_s:.2f} s",
    )
    result.figure(
        f"{label}: sync time (committed → all synced)",
        run.sync_s,
        "s",
        f"{run.synced_per_s:.0f} subscribers/s",
    )


async def run(services: Services, profile: Profile, context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("1", "bulk provisioning")
    mine, elapsed, latencies = await ours(
        services, profile, profile.bulk_subscribers, "w1-ours", rest=profile.rest_creations
    )
    context["bulk_1x"] = mine
    theirs = await seed(services, profile)

    bulk_rows(result, mine, "mikrosync")
    bound_rows(result, "mikrosync sync", mine.sync_s, mine.bound)
    result.figure(
        "seed design: sync time", theirs.sync_s, "s", f"{theirs.synced_per_s:.0f} subscribers/s"
    )
    result.at_least("seed sync ÷ mikrosync sync", theirs.sync_s / mine.sync_s, 50, "x")
    result.figure(
        "router commands per subscriber",
        mine.commands_per_subscriber,
        "",
        f"mikrosync {mine.commands_per_subscriber:.2f}, seed {theirs.commands_per_subscriber:.2f}, "
        "minimum 1 (one add)",
    )
    cpu_rows(result, "mikrosync sync", mine.cpu_sync, mine.sync_s, mine.subscribers)
    result.figure(
        "seed design: worker CPU per subscriber",
        theirs.worker_cpu_ms_per_subscriber,
        "ms",
        "the seed's one serial worker, sync window",
    )
    result.figure(
        "routers' own CPU during mikrosync sync",
        100 * mine.router_cpu_share,
        "% of a core",
        "the simhost process serving all routers; near 100 % means the simulator, not "
        "mikrosync, set the pace",
    )
    rate = profile.rest_creations / elapsed
    result.figure(
        f"single REST creations ({profile.rest_clients} clients)",
        rate,
        "req/s",
        f"{profile.rest_creations} requests; latency p50 {percentile(latencies, 50):.0f} ms, "
        f"p99 {percentile(latencies, 99):.0f} ms",
    )
    result.latencies_ms["REST create latency"] = latencies
    result.throughput += [
        ("mikrosync sync", mine.subscribers, mine.synced_per_s),
        ("seed sync", theirs.subscribers, theirs.synced_per_s),
        ("CSV ingestion", mine.subscribers, mine.rows_per_s),
    ]
    result.raw = {
        "mikrosync": mine.as_dict(),
        "seed": theirs.as_dict(),
        "rest": {
            "requests": profile.rest_creations,
            "clients": profile.rest_clients,
            "elapsed_s": round(elapsed, 3),
            "per_s": round(rate, 1),
        },
    }
    return result
