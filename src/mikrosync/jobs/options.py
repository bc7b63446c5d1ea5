"""bullmq job options and the retry policy, shared by the producer and the worker.

Every job is added with:

- `attempts` (default 8): bullmq's total number of runs. The worker may stop earlier (its own
  `attempts`), so the smaller of the two wins.
- `backoff = {"type": "capped"}`: not a bullmq built-in, so bullmq asks the worker's
  `backoffStrategy` (`capped_backoff`), which the worker builds from its own base and cap. The
  delay policy thus lives in one place, the worker, and changes without re-adding jobs.
- `removeOnComplete` / `removeOnFail` bounds, so Redis keeps the last N finished jobs and
  does not grow forever (the subscriber's timeline in the database is the history).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mikrosync.jobs.names import subscriber_dedup_id
from mikrosync.sync.errors import TemporaryError

BACKOFF_TYPE = "capped"
DEFAULT_ATTEMPTS = 8
KEEP_COMPLETED = 1000
KEEP_FAILED = 5000

BackoffStrategy = Callable[[int, str, BaseException, Any], int]


def job_options(
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    priority: int | None = None,
    delay_ms: int | None = None,
    job_id: str | None = None,
    dedup_id: str | None = None,
    keep_last_if_active: bool = False,
) -> dict[str, Any]:
    """bullmq `JobOptions` (camelCase) for one job."""
    opts: dict[str, Any] = {
        "attempts": attempts,
        "backoff": {"type": BACKOFF_TYPE},
        "removeOnComplete": KEEP_COMPLETED,
        "removeOnFail": KEEP_FAILED,
    }
    if priority is not None:
        opts["priority"] = priority
    if delay_ms:
        opts["delay"] = delay_ms
    if job_id is not None:
        opts["jobId"] = job_id
    if dedup_id is not None:
        opts["deduplication"] = {"id": dedup_id, "keepLastIfActive": keep_last_if_active}
    return opts


def subscriber_job_options(
    subscriber_id: int, *, attempts: int = DEFAULT_ATTEMPTS, priority: int | None = None
) -> dict[str, Any]:
    """Options of a subscriber job: one active plus one waiting job per subscriber.

    With `keepLastIfActive`, a push while the subscriber's job is waiting or delayed is dropped
    (that job will read the latest state anyway); a push while it is active is stored and
    becomes the waiting job when the active one finishes, so two converges of one subscriber
    never run at once, in any number of worker processes.
    """
    return job_options(
        attempts=attempts,
        priority=priority,
        dedup_id=subscriber_dedup_id(subscriber_id),
        keep_last_if_active=True,
    )


def capped_backoff(base_ms: int, cap_ms: int) -> BackoffStrategy:
    """bullmq `backoffStrategy`: `base * 2**(n-1)` ms after the n-th failure, at most `cap_ms`.

    A `TemporaryError(delay=seconds)` asks for its own delay (still capped), e.g. a router that
    says when a session slot frees up.
    """

    def strategy(attempts_made: int, _type: str, err: BaseException, _job: Any) -> int:
        if isinstance(err, TemporaryError) and err.delay is not None:
            wanted = round(err.delay * 1000)
        else:
            wanted = base_ms * 2 ** max(attempts_made - 1, 0)
        # 0 would make bullmq retry at once, skipping the delayed set; keep at least 1 ms.
        return max(1, min(wanted, cap_ms))

    return strategy
