"""Bulk provisioning, shared by workloads 1 (bulk), 6 (growth) and 7 (scale-out).

Subscribers enter the way an ISP migrating its customers enters them: one CSV import per
router (`POST /api/v1/subscribers/import`). If this build has no CSV import, they enter as
single REST creations from 50 concurrent clients, and the result says so.

Two windows are measured separately: ingestion (first request sent → last import committed and
answered) and sync (all committed → all `synced` in the database, polled every 20 ms). The
queue is paused (BullMQ's pause) while the files are imported and resumed at the end of
ingestion: otherwise the workers sync the first files' rows while later files are still being
imported, and the sync window would shrink by an amount that depends on the import's speed.
The seed-design baseline is measured the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.api import Api, csv_text
from bench.bound import ADD, Bound, workload_bound
from bench.stack import Site, Stack, cpu_delta, spread, usernames


@dataclass
class BulkRun:
    subscribers: int
    routers: int
    via: str
    ingest_s: float
    sync_s: float
    commands: dict[str, int]
    cpu_sync: dict[str, float]
    bound: Bound
    request_latencies_ms: list[float] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)
    """Converge jobs run, by outcome (mikrosync's workers only)."""
    cpu_all: dict[str, float] = field(default_factory=dict)
    """CPU seconds per part over ingestion and sync."""

    @property
    def worker_cpu_ms_per_subscriber(self) -> float:
        """Worker CPU in the sync window (queue resumed → all synced) per subscriber."""
        return 1000 * self.cpu_sync.get("workers", 0.0) / self.subscribers

    @property
    def rows_per_s(self) -> float:
        return self.subscribers / self.ingest_s

    @property
    def synced_per_s(self) -> float:
        return self.subscribers / self.sync_s

    @property
    def commands_per_subscriber(self) -> float:
        return sum(self.commands.values()) / self.subscribers

    @property
    def router_cpu_share(self) -> float:
        """Busy fraction of the simhost process (one core) during the sync window."""
        return self.cpu_sync.get("routers (simhost)", 0.0) / self.sync_s

    def as_dict(self) -> dict[str, object]:
        return {
            "subscribers": self.subscribers,
            "routers": self.routers,
            "via": self.via,
            "ingest_s": round(self.ingest_s, 3),
            "rows_per_s": round(self.rows_per_s, 1),
            "sync_s": round(self.sync_s, 3),
            "synced_per_s": round(self.synced_per_s, 1),
            "commands": self.commands,
            "commands_per_subscriber": round(self.commands_per_subscriber, 2),
            "cpu_seconds_during_sync": self.cpu_sync,
            "cpu_seconds_ingestion_and_sync": self.cpu_all,
            "worker_cpu_ms_per_subscriber": round(self.worker_cpu_ms_per_subscriber, 2),
            "router_cpu_share": round(self.router_cpu_share, 3),
            "bound_s": round(self.bound.seconds, 3),
            "bound": self.bound.arithmetic,
            "pipelined_limit_s": round(self.bound.pipelined_seconds, 3),
            "pipelined_limit": self.bound.pipelined_arithmetic,
            "jobs": self.jobs,
        }


async def rest_create(
    api: Api, items: Sequence[tuple[int, int, str]], clients: int
) -> tuple[float, list[float]]:
    """One POST per (router_id, package_id, username), `clients` at a time; returns the
    elapsed seconds and each request's latency in ms."""
    queue: asyncio.Queue[tuple[int, int, str]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    latencies: list[float] = []

    async def client() -> None:
        while not queue.empty():
            router_id, package_id, name = queue.get_nowait()
            started = time.perf_counter()
            await api.create_subscriber(router_id, package_id, name)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.monotonic() - started, latencies


async def bulk_provision(
    stack: Stack, site: Site, count: int, *, prefix: str, timeout: float
) -> BulkRun:
    simhost = stack.services.simhost
    names = usernames(prefix, count)
    per_router = spread(names, len(site.router_ids))
    await simhost.reset_verbs()
    use_csv = await stack.api.import_available()
    cpu_start = stack.cpu()
    latencies: list[float] = []
    await stack.set_paused(True)
    started = time.monotonic()
    if use_csv:
        for router_id, chunk in zip(site.router_ids, per_router, strict=True):
            await stack.api.import_csv(router_id, csv_text(chunk, site.package_name))
    else:
        items = [
            (router_id, site.package_id, name)
            for router_id, chunk in zip(site.router_ids, per_router, strict=True)
            for name in chunk
        ]
        _, latencies = await rest_create(stack.api, items, clients=50)
    committed = time.monotonic()
    cpu_before = stack.cpu()
    await stack.set_paused(False)
    synced = await stack.wait_synced(site.router_ids, count, timeout)
    cpu_end = stack.cpu()
    cpu = cpu_delta(cpu_before, cpu_end)
    verbs = await simhost.verbs()
    commands: Counter[str] = Counter()
    for index in site.sims.indexes:
        commands.update(verbs.get(index, {}))
    minimum = {i: len(chunk) * ADD for i, chunk in enumerate(per_router)}
    return BulkRun(
        subscribers=count,
        routers=len(site.router_ids),
        via="CSV import" if use_csv else "single REST creations (no CSV import in this build)",
        ingest_s=committed - started,
        sync_s=synced - committed,
        commands=dict(commands),
        cpu_sync=cpu,
        bound=workload_bound(minimum, site.sims.model),
        request_latencies_ms=latencies,
        jobs=stack.job_outcomes(),
        cpu_all=cpu_delta(cpu_start, cpu_end),
    )


@dataclass(frozen=True)
class Member:
    id: int
    username: str
    router_id: int


async def seed_subscribers(
    stack: Stack,
    site: Site,
    names_by_router: Sequence[Sequence[str]],
    *,
    timeout: float,
    expires_at: dict[str, str] | None = None,
) -> list[Member]:
    """Create subscribers through the API (CSV import per router, else single creations),
    wait until all are synced, and return them in the order given."""
    if await stack.api.import_available():
        for router_id, chunk in zip(site.router_ids, names_by_router, strict=True):
            if not chunk:
                continue
            expiry = [expires_at[n] for n in chunk] if expires_at else None
            await stack.api.import_csv(router_id, csv_text(list(chunk), site.package_name, expiry))
    else:
        for router_id, chunk in zip(site.router_ids, names_by_router, strict=True):
            for name in chunk:
                when = expires_at[name] if expires_at else None
                await stack.api.create_subscriber(router_id, site.package_id, name, when)
    total = sum(len(chunk) for chunk in names_by_router)
    await stack.wait_synced(site.router_ids, total, timeout)
    assert stack.db is not None
    rows = await stack.db.fetch(
        "SELECT id, username, router_id FROM subscribers WHERE router_id = ANY($1::int[])",
        list(site.router_ids),
    )
    by_name = {
        row["username"]: Member(row["id"], row["username"], row["router_id"]) for row in rows
    }
    return [by_name[name] for chunk in names_by_router for name in chunk]
