"""Job schedulers: jobs that bullmq pushes by itself, every N ms or on a cron pattern.

A scheduler is a record in Redis, so it is shared by every worker: upserting one that exists
replaces it (same key: still one scheduler, one pending run), which is why every worker can
upsert the static ones on start without a scheduler process. Dynamic ones (say, per router) can
be added and removed through `JobQueue`. A scheduler whose `Schedule` is dropped from the code
stays in Redis until `JobQueue.remove_schedule` removes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mikrosync.jobs.options import job_options


@dataclass(frozen=True)
class Schedule:
    """A bullmq job scheduler: a job `name` pushed every `every_ms`, or on a `cron` pattern.

    `key` names the scheduler in Redis (default: the job name); give distinct keys to run one
    job name on several schedules (e.g. one health check per router). A run that fails is not
    retried: the schedule's next run is its retry.
    """

    name: str
    every_ms: int | None = None
    cron: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    attempts: int = 1

    def __post_init__(self) -> None:
        if (self.every_ms is None) == (self.cron is None):
            raise ValueError(f"schedule {self.name!r}: give exactly one of every_ms and cron")

    @property
    def scheduler_id(self) -> str:
        return self.key or self.name

    def repeat_options(self) -> dict[str, Any]:
        return {"every": self.every_ms} if self.every_ms is not None else {"pattern": self.cron}

    def upsert_args(self) -> tuple[str, dict[str, Any], str, dict[str, Any], dict[str, Any]]:
        """Arguments of bullmq's `upsertJobScheduler` (the same on Queue and Worker)."""
        return (
            self.scheduler_id,
            self.repeat_options(),
            self.name,
            dict(self.data),
            job_options(attempts=self.attempts),
        )
