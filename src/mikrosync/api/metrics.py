"""Prometheus metrics, exposed with `prometheus_client` (a custom collector per scrape).

- Gauges are read at scrape time from where the state is: the database (subscribers by status,
  owed suspensions, routers) and the queue (jobs per state, paused).
- Counters (`mikrosync_jobs_total`, `mikrosync_sync_latency_seconds`, `mikrosync_drift_*`) are
  counted once, by the process where the outcome happens (`sync/counting.py`), in Redis under
  the queue prefix. They only ever rise (deleting a subscriber or restarting a worker lowers
  nothing), and every `serve` replica exposes the same single total, so sum over one replica
  (or use `max by`) rather than over all of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis.exceptions
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber, SyncStatus
from mikrosync.sync import counting

LATENCY_BUCKETS = counting.LATENCY_BUCKETS


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
        ]
    metrics.extend(await _counters(runtime))
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


async def _counters(runtime: Runtime) -> list[Metric]:
    """The counters, as the workers counted them in Redis (`sync/counting.py`); none at all
    when Redis does not answer (absent, not zero: a zero would read as a counter reset)."""
    try:
        counts = await runtime.counters.read(counting.FAMILIES)
    except (redis.exceptions.RedisError, OSError):
        return []
    jobs = CounterMetricFamily(
        "mikrosync_jobs",
        "Subscriber job outcomes settled by the workers, by job name and outcome "
        "(a batch counts each subscriber).",
        labels=["job", "outcome"],
    )
    for (job, outcome), count in sorted(counts[counting.JOBS].items()):
        jobs.add_metric([job, outcome], count)
    latency = counts[counting.LATENCY]
    buckets = [
        (str(bound), latency.get(("le", str(bound)), 0)) for bound in counting.LATENCY_BUCKETS
    ]
    buckets.append(("+Inf", latency.get(counting.LATENCY_COUNT, 0)))
    histogram = HistogramMetricFamily(
        "mikrosync_sync_latency_seconds",
        "Time from the commit of a change to the router's confirmation.",
        buckets=buckets,
        sum_value=latency.get(counting.LATENCY_SUM_MS, 0) / 1000,
    )
    found = CounterMetricFamily(
        "mikrosync_drift_found", "Drift found by reconciliation runs, by kind.", labels=["kind"]
    )
    fixed = CounterMetricFamily(
        "mikrosync_drift_fixed", "Drift repaired by reconciliation runs, by kind.", labels=["kind"]
    )
    found_counts = {kind: n for (kind,), n in counts[counting.DRIFT_FOUND].items()}
    fixed_counts = {kind: n for (kind,), n in counts[counting.DRIFT_FIXED].items()}
    for kind in sorted(found_counts.keys() | fixed_counts.keys()):
        found.add_metric([kind], found_counts.get(kind, 0))
        fixed.add_metric([kind], fixed_counts.get(kind, 0))
    return [jobs, histogram, found, fixed]


async def _queue(runtime: Runtime) -> list[Metric]:
    family = GaugeMetricFamily(
        "mikrosync_queue_jobs", "Jobs on the mikrotik-sync queue by state.", labels=["state"]
    )
    try:
        status = await runtime.queue.status()
    except QueueUnavailable:
        status = None
    up = GaugeMetricFamily(
        "mikrosync_queue_up", "1 if Redis answered the scrape.", value=1 if status else 0
    )
    if status is None:
        return [family, up]
    for state, count in status.counts.items():
        family.add_metric([state], count)
    paused = GaugeMetricFamily(
        "mikrosync_queue_paused",
        "1 while the queue is paused (workers take no new job), else 0.",
        value=1 if status.paused else 0,
    )
    held = GaugeMetricFamily(
        "mikrosync_queue_held_jobs",
        "Jobs ready to run that the pause holds back (0 when not paused).",
        value=status.held,
    )
    return [family, up, paused, held]
