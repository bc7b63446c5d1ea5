"""Prometheus metrics, computed at scrape time from the database and the queue.

The API, the UI and the workers are separate processes that keep no state, so the numbers come
from where the state is: the database (subscribers, routers, the sync timeline, reconciliation
runs) and Redis (queue depth). Any API process answers `/metrics` with the same totals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.subscribers.intent import REQUESTED
from mikrosync.subscribers.models import Subscriber, SyncEvent, SyncStatus
from mikrosync.sync.reconcile_runs.models import ReconcileRun

# Change-to-confirmation latency buckets, in seconds.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class _Snapshot(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics


async def render(runtime: Runtime) -> bytes:
    """The Prometheus text exposition of every mikrosync series."""
    async with runtime.sessionmaker() as session:
        metrics = [
            await _subscribers(session),
            await _owed_suspensions(session),
            await _routers(session),
            await _jobs(session),
            await _latency(session),
            *await _drift(session),
        ]
    metrics.extend(await _queue(runtime))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    return generate_latest(registry)


async def _subscribers(session: AsyncSession) -> Metric:
    family = GaugeMetricFamily(
        "mikrosync_subscribers", "Subscribers by sync status.", labels=["status"]
    )
    rows = dict(
        (
            await session.execute(
                select(Subscriber.sync_status, func.count()).group_by(Subscriber.sync_status)
            )
        ).all()
    )
    for status in SyncStatus:
        family.add_metric([status.value], rows.get(status.value, 0))
    return family


async def _owed_suspensions(session: AsyncSession) -> Metric:
    owed = await session.scalar(
        select(func.count()).where(
            Subscriber.is_suspended.is_(True),
            Subscriber.desired_version > Subscriber.synced_version,
        )
    )
    return GaugeMetricFamily(
        "mikrosync_owed_suspensions",
        "Subscribers suspended in the database whose router has not confirmed it yet.",
        value=owed or 0,
    )


async def _routers(session: AsyncSession) -> Metric:
    family = GaugeMetricFamily(
        "mikrosync_routers", "Routers by health (unknown = not checked yet).", labels=["state"]
    )
    state = case(
        (Router.is_online.is_(True), "online"),
        (Router.is_online.is_(False), "offline"),
        else_="unknown",
    )
    result = await session.execute(select(state, func.count()).group_by(state))
    rows: dict[str, int] = dict(result.all())
    for name in ("online", "offline", "unknown"):
        family.add_metric([name], rows.get(name, 0))
    return family


async def _jobs(session: AsyncSession) -> Metric:
    family = CounterMetricFamily(
        "mikrosync_jobs",
        "Subscriber job runs by job name and outcome (from the sync timeline).",
        labels=["job", "outcome"],
    )
    rows = await session.execute(
        select(SyncEvent.operation, SyncEvent.outcome, func.count())
        .where(SyncEvent.outcome != REQUESTED)
        .group_by(SyncEvent.operation, SyncEvent.outcome)
    )
    for job, outcome, count in rows.all():
        family.add_metric([job, outcome], count)
    return family


async def _latency(session: AsyncSession) -> Metric:
    confirmed = and_(SyncEvent.outcome == "succeeded", SyncEvent.latency_ms.is_not(None))
    columns = [
        func.sum(case((SyncEvent.latency_ms <= bound * 1000, 1), else_=0))
        for bound in LATENCY_BUCKETS
    ]
    row = (
        await session.execute(
            select(func.count(), func.sum(SyncEvent.latency_ms), *columns).where(confirmed)
        )
    ).one()
    total, total_ms, *cumulative = row
    buckets = [
        (str(bound), int(count or 0))
        for bound, count in zip(LATENCY_BUCKETS, cumulative, strict=True)
    ]
    buckets.append(("+Inf", int(total or 0)))
    return HistogramMetricFamily(
        "mikrosync_sync_latency_seconds",
        "Time from the commit of a change to the router's confirmation.",
        buckets=buckets,
        sum_value=(total_ms or 0) / 1000,
    )


async def _drift(session: AsyncSession) -> list[Metric]:
    found = CounterMetricFamily(
        "mikrosync_drift_found", "Drift found by reconciliation runs, by kind.", labels=["kind"]
    )
    fixed = CounterMetricFamily(
        "mikrosync_drift_fixed", "Drift repaired by reconciliation runs, by kind.", labels=["kind"]
    )
    runs = (
        await session.execute(
            select(ReconcileRun.counts, ReconcileRun.actions).where(ReconcileRun.dry_run.is_(False))
        )
    ).all()
    found_counts: Counter[str] = Counter()
    fixed_counts: Counter[str] = Counter()
    for counts, actions in runs:
        found_counts.update({kind: int(n) for kind, n in (counts or {}).items()})
        fixed_counts.update(_repaired_kinds(actions or []))
    for kind in sorted(found_counts | fixed_counts):
        found.add_metric([kind], found_counts[kind])
        fixed.add_metric([kind], fixed_counts[kind])
    return [found, fixed]


def _repaired_kinds(actions: Iterable[object]) -> Iterator[str]:
    for entry in actions:
        if isinstance(entry, dict) and entry.get("kind") and entry.get("result") in ("ok", "done"):
            yield str(entry["kind"])


async def _queue(runtime: Runtime) -> list[Metric]:
    family = GaugeMetricFamily(
        "mikrosync_queue_jobs", "Jobs on the mikrotik-sync queue by state.", labels=["state"]
    )
    try:
        counts = await runtime.queue.counts()
    except QueueUnavailable:
        counts = {}
    for state, count in counts.items():
        family.add_metric([state], count)
    up = GaugeMetricFamily(
        "mikrosync_queue_up", "1 if Redis answered the scrape.", value=1 if counts else 0
    )
    return [family, up]
