"""How every redis-py client of mikrosync connects (the job queue's, bullmq's own, the login
throttle's), so the fixes below apply everywhere:

- `socket_timeout`: redis-py 8 defaults it to 5 s, exactly bullmq's `drainDelay`, so an idle
  worker's `BZPOPMIN` times out on the socket and reconnects every 5 s. 30 s is above the longest
  block bullmq asks for (10 s) and still ends a read from a dead peer.
- `decode_responses=True`: bullmq's scripts compare strings; with bytes, jobs stay active.
- A short connect timeout and a small retry budget: redis-py (and bullmq's own client factory)
  would retry a refused connection for many seconds, but a push must fail fast
  (`QueueUnavailable`) so the API can answer; the worker has its own reconnect loop.

Here, below the job queue (`mikrosync.jobs`, the only bullmq importer), so that the login
throttle (`security/throttle.py`) can use it without importing the queue.
"""

from __future__ import annotations

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 30.0
CONNECT_RETRIES = 1


def redis_connection(url: str, *, retries: int = CONNECT_RETRIES) -> redis.asyncio.Redis:
    """A pooled asyncio client for `url`, set up for bullmq (see the module docstring)."""
    return redis.asyncio.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
    )
