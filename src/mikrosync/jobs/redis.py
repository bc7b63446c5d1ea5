"""Where Redis is, and how we connect to it.

`resolve_redis_url` turns the `MIKROSYNC_REDIS_URL` setting into a URL: a configured Redis is
used as is; none means the embedded server of the data directory (see `embedded.py`).

`redis_connection` builds every redis-py client of this package, bullmq's included (bullmq takes
a ready client as its `connection`), so the fixes below apply everywhere:

- `socket_timeout`: redis-py 8 defaults it to 5 s, exactly bullmq's `drainDelay`, so an idle
  worker's `BZPOPMIN` times out on the socket and reconnects every 5 s. 30 s is above the longest
  block bullmq asks for (10 s) and still ends a read from a dead peer.
- `decode_responses=True`: bullmq's scripts compare strings; with bytes, jobs stay active.
- A short connect timeout and a small retry budget: redis-py (and bullmq's own client factory)
  would retry a refused connection for many seconds, but a push must fail fast
  (`QueueUnavailable`) so the API can answer; the worker has its own reconnect loop.
"""

from __future__ import annotations

from pathlib import Path

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from mikrosync.jobs.embedded import embedded_redis

CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 30.0
CONNECT_RETRIES = 1


def resolve_redis_url(redis_url: str | None, data_dir: Path) -> str:
    """The configured Redis URL, or the URL of the embedded server for `data_dir`.

    Starting (or joining) the embedded server blocks for about 0.1 s; call this once at start-up.
    The server stays up for the life of this process (see `embedded.py` for when it stops).
    """
    if redis_url:
        return redis_url
    return embedded_redis(data_dir).url


def redis_connection(url: str, *, retries: int = CONNECT_RETRIES) -> redis.asyncio.Redis:
    """A pooled asyncio client for `url`, set up for bullmq (see the module docstring)."""
    return redis.asyncio.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
    )
