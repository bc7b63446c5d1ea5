"""Where Redis is: `resolve_redis_url` turns the `MIKROSYNC_REDIS_URL` setting into a URL: a
configured Redis is used as is; none means the embedded server of the data directory (see
`embedded.py`). Clients are built by `mikrosync.db.redis.redis_connection`.
"""

from __future__ import annotations

from pathlib import Path

from mikrosync.jobs.embedded import embedded_redis


def resolve_redis_url(redis_url: str | None, data_dir: Path) -> str:
    """The configured Redis URL, or the URL of the embedded server for `data_dir`.

    Starting (or joining) the embedded server blocks for about 0.1 s; call this once at start-up.
    The server stays up for the life of this process (see `embedded.py` for when it stops).
    """
    if redis_url:
        return redis_url
    return embedded_redis(data_dir).url
