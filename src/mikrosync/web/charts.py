"""The data of the console's charts, per hour over the last day, from what mikrosync already
records: the sync timeline (`sync_events`: intents, attempts and their change latency) and
router outages. Every query is tenant-scoped and read-only.

Each series is a list of hourly buckets; `times` are the buckets' ends as Unix seconds (what
uPlot wants), shown in the tenant's zone by the browser's chart code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.routers.models import Router
from mikrosync.routers.outages import RouterOutage
from mikrosync.subscribers.models import Operation, SyncEvent

HOURS = 24
BUCKET = timedelta(hours=1)
# Timeline rows read per chart at most: a busy tenant's day is summarised from the newest.
MAX_EVENTS = 200_000


@dataclass(frozen=True)
class ChartData:
    times: list[int]
    latency_p50_ms: list[float | None]
    latency_max_ms: list[float | None]
    changes: list[int]
    owed_suspensions: list[int]
    routers_online: list[int]
    routers_total: int

    def as_json(self) -> dict[str, object]:
        return {
            "times": self.times,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_max_ms": self.latency_max_ms,
            "changes": self.changes,
            "owed_suspensions": self.owed_suspensions,
            "routers_online": self.routers_online,
        }


def _bucket_ends(end: datetime) -> list[datetime]:
    """HOURS bucket ends, the last one `end` rounded up to the next full hour."""
    last = end.replace(minute=0, second=0, microsecond=0) + BUCKET
    return [last - BUCKET * (HOURS - 1 - i) for i in range(HOURS)]


def _index(ends: Sequence[datetime], moment: datetime) -> int | None:
    start = ends[0] - BUCKET
    if moment < start or moment >= ends[-1]:
        return None
    return int((moment - start) // BUCKET)


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


async def chart_data(session: AsyncSession, *, tenant_id: int, owed_now: int) -> ChartData:
    moment = now()
    ends = _bucket_ends(moment)
    since = ends[0] - BUCKET
    latencies: list[list[int]] = [[] for _ in ends]
    changes = [0] * HOURS
    asked = [0] * HOURS  # suspensions recorded
    applied = [0] * HOURS  # suspensions the router confirmed
    events = await session.execute(
        select(SyncEvent.created_at, SyncEvent.operation, SyncEvent.outcome, SyncEvent.latency_ms)
        .where(SyncEvent.tenant_id == tenant_id, SyncEvent.created_at >= since)
        .order_by(SyncEvent.created_at.desc())
        .limit(MAX_EVENTS)
    )
    for created_at, operation, outcome, latency_ms in events.all():
        i = _index(ends, created_at)
        if i is None:
            continue
        if outcome == "requested":
            changes[i] += 1
            if operation == Operation.DISCONNECT_USER:
                asked[i] += 1
        elif outcome == "succeeded":
            if latency_ms is not None:
                latencies[i].append(latency_ms)
            if operation == Operation.DISCONNECT_USER:
                applied[i] += 1
    # Owed suspensions at each bucket's end, walked back from today's number: before a
    # bucket, fewer were asked and more were still to be applied.
    owed = [0] * HOURS
    value = owed_now
    for i in range(HOURS - 1, -1, -1):
        owed[i] = max(value, 0)
        value = value - asked[i] + applied[i]
    return ChartData(
        times=[int(end.timestamp()) for end in ends],
        latency_p50_ms=[_median(v) for v in latencies],
        latency_max_ms=[float(max(v)) if v else None for v in latencies],
        changes=changes,
        owed_suspensions=owed,
        routers_online=await _routers_online(session, tenant_id, ends, moment),
        routers_total=len(
            (await session.scalars(select(Router.id).where(Router.tenant_id == tenant_id))).all()
        ),
    )


async def _routers_online(
    session: AsyncSession, tenant_id: int, ends: Sequence[datetime], moment: datetime
) -> list[int]:
    """At each bucket's end (now for the last one): routers that existed then and were not
    in an outage."""
    created = (
        await session.scalars(select(Router.created_at).where(Router.tenant_id == tenant_id))
    ).all()
    outages = (
        await session.execute(
            select(RouterOutage.started_at, RouterOutage.ended_at).where(
                RouterOutage.tenant_id == tenant_id,
                (RouterOutage.ended_at.is_(None)) | (RouterOutage.ended_at >= ends[0] - BUCKET),
            )
        )
    ).all()
    result = []
    for end in ends:
        at = min(end, moment)
        existing = sum(1 for c in created if c <= at)
        down = sum(1 for start, stop in outages if start <= at and (stop is None or stop > at))
        result.append(max(existing - down, 0))
    return result
