"""What the sync engine counts for `/metrics`, at the moment it happens (docs/jobs.md, Metrics).

- `jobs`: one per row outcome a run settles (`state.settle`): job name and outcome, the same
  pair the timeline row records. A batch counts each row.
- `sync_latency`: for each succeeded row, the time from the commit of its change to the
  router's confirmation, as cumulative histogram buckets plus count and sum (milliseconds).
- `drift_found` / `drift_fixed`: per drift kind, for each real (not dry) reconciliation run.

`settle` only notes the increments on its session (`note`); `flush` adds them to Redis once
that session has committed (`converge.in_session`), so an outcome is counted once, and never
for a transaction that rolled back or was run again on a fresh connection. Counting is best
effort: Redis being down loses those increments (logged), never the sync itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

import redis.exceptions
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.counters import Increment

log = logging.getLogger(__name__)

JOBS = "jobs"
LATENCY = "sync_latency"
DRIFT_FOUND = "drift_found"
DRIFT_FIXED = "drift_fixed"
FAMILIES = (JOBS, LATENCY, DRIFT_FOUND, DRIFT_FIXED)

# Change-to-confirmation latency buckets, in seconds.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
LATENCY_COUNT = ("count",)
LATENCY_SUM_MS = ("sum_ms",)

_PENDING = "mikrosync.counter_increments"


class CounterStore(Protocol):
    async def add(self, increments: Iterable[Increment]) -> None: ...


def outcome(job: str, result: str) -> list[Increment]:
    return [(JOBS, (job, result), 1)]


def latency(ms: int) -> list[Increment]:
    increments: list[Increment] = [(LATENCY, LATENCY_COUNT, 1), (LATENCY, LATENCY_SUM_MS, ms)]
    increments += [
        (LATENCY, ("le", str(bound)), 1) for bound in LATENCY_BUCKETS if ms <= bound * 1000
    ]
    return increments


def drift(found: dict[str, int], actions: Iterable[tuple[str, dict[str, Any]]]) -> list[Increment]:
    increments: list[Increment] = [(DRIFT_FOUND, (kind,), int(n)) for kind, n in found.items() if n]
    increments += [
        (DRIFT_FIXED, (str(kind),), 1)
        for kind, entry in actions
        if entry.get("result") in ("ok", "done")
    ]
    return increments


def note(session: AsyncSession, increments: Iterable[Increment]) -> None:
    """Keep `increments` with `session`, to be counted once it commits (`flush`)."""
    session.info.setdefault(_PENDING, []).extend(increments)


async def flush(store: CounterStore, session: AsyncSession) -> None:
    """Count what `session` noted; call right after its commit."""
    increments = session.info.pop(_PENDING, None)
    if increments:
        await count(store, increments)


async def count(store: CounterStore, increments: Iterable[Increment]) -> None:
    try:
        await store.add(increments)
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("metrics counters not updated (Redis unavailable: %r)", exc)
