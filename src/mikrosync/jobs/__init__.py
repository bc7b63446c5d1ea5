"""The `mikrotik-sync` queue: the only package that imports bullmq (see docs/jobs.md).

Producers use `JobQueue`; the worker process runs `SyncWorker` with handlers injected by the
CLI; `resolve_redis_url` finds Redis (configured, or the embedded server of the data directory).
"""

from __future__ import annotations

from mikrosync.db.redis import redis_connection
from mikrosync.jobs.embedded import EmbeddedRedis, embedded_redis
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.redis import resolve_redis_url
from mikrosync.jobs.schedules import Schedule
from mikrosync.jobs.worker import Handler, JobInfo, SyncWorker

__all__ = [
    "EmbeddedRedis",
    "Handler",
    "JobInfo",
    "JobQueue",
    "QueueUnavailable",
    "Schedule",
    "SyncWorker",
    "embedded_redis",
    "redis_connection",
    "resolve_redis_url",
]
