"""The tenant's failed sync jobs, as the console shows them: each with its subscriber and
whether the failure still matters (the subscriber is still in error) or was resolved since
(a retry synced it, or it was removed). BullMQ keeps a failed job until someone clears it,
so without this a fixed failure would be counted forever.

The queue is shared by all tenants: a job is shown only when its subscriber is the tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.jobs.producer import JobQueue
from mikrosync.subscribers.models import Subscriber, SyncStatus

# Failed jobs read per page view (newest first); BullMQ trims older ones itself.
FAILED_LIMIT = 200


@dataclass(frozen=True)
class FailedJob:
    id: str
    name: str
    subscriber: Subscriber
    reason: str
    attempts: int
    failed_at: datetime | None

    @property
    def state(self) -> str:
        """'still in error', 'being retried' or 'resolved'."""
        status = self.subscriber.sync_status
        if status == SyncStatus.ERROR:
            return "still in error"
        if status == SyncStatus.SYNCED:
            return "resolved"
        return "being retried"

    @property
    def resolved(self) -> bool:
        return self.state == "resolved"


async def tenant_failed_jobs(
    session: AsyncSession, queue: JobQueue, *, tenant_id: int
) -> list[FailedJob]:
    """The tenant's failed jobs, newest first. Raises QueueUnavailable without Redis."""
    raw = await queue.failed_jobs(limit=FAILED_LIMIT)
    ids = {_subscriber_id(job) for job in raw} - {None}
    found = {
        s.id: s
        for s in await session.scalars(
            select(Subscriber).where(Subscriber.tenant_id == tenant_id, Subscriber.id.in_(ids))
        )
    }
    jobs = []
    for job in raw:
        subscriber = found.get(_subscriber_id(job) or 0)
        if subscriber is None or job["id"] is None:
            continue
        finished = job.get("finished_on")
        jobs.append(
            FailedJob(
                id=str(job["id"]),
                name=str(job["name"]),
                subscriber=subscriber,
                reason=str(job.get("failed_reason") or ""),
                attempts=int(job.get("attempts_made") or 0),
                failed_at=datetime.fromtimestamp(finished / 1000, UTC) if finished else None,
            )
        )
    return jobs


def _subscriber_id(job: dict[str, Any]) -> int | None:
    data = job.get("data")
    value = data.get("subscriber_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None
