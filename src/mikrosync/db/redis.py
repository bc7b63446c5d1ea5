"""How every redis-py client of mikrosync connects (the job queue's, bullmq's own, the login
throttle's), so the fixes below apply everywhere:

- `socket_timeout`: redis-py 8 defaults it to 5 s, exactly bullmq's `drainDelay`, so an idle
  worker's `BZPOPMIN` times out on the socket and reconnects every 5 s. 30 s is above the longest
  block bullmq asks for (10 s) and still ends a read from a dead peer.
- `decode_responses=True`: bullmq's scripts compare strings; with bytes, jobs stay active.
- A short connect timeout and a small retry budget: redis-py (and bullmq's own client factory)
  would retry a refused connection for many seconds, but a push must fail fast
  (`QueueUnavailable`) so the API can answer; the worker has its own reconnect loop.
- Redis Sentinel: a `redis+sentinel://` URL (format below) gives a client whose every new
  connection asks the sentinels for the current primary (redis-py's `Sentinel.master_for`), so
  after a failover each client (bullmq's blocking connection too: it is the same client) lands
  on the promoted replica. A connection still on a demoted primary fails with READONLY,
  is dropped and made again, through the sentinels.

Here, below the job queue (`mikrosync.jobs`, the only bullmq importer), so that the login
throttle (`security/throttle.py`) can use it without importing the queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 30.0
CONNECT_RETRIES = 1

SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
SENTINEL_PORT = 26379
SENTINEL_URL_FORM = (
    "redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]"
    "[?sentinel_password=...]"
)
_SENTINEL_QUERY = {"sentinel_username", "sentinel_password"}
_HOST_PORT = re.compile(
    r"^(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(?::(?P<port>\d+))?$"
)


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed `redis+sentinel://` URL (the form of redis-py's and Celery's ecosystems).

    `username`/`password` are the primary's (and its replicas'); the sentinels' own, if they
    have one, go in the query (`sentinel_username`, `sentinel_password`). The port of each
    sentinel defaults to 26379, the database to 0. `rediss+sentinel://` speaks TLS to the
    primary.
    """

    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def is_sentinel_url(url: str) -> bool:
    return url.startswith(SENTINEL_SCHEMES)


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Parse a sentinel URL; ValueError saying what is wrong (never echoing a password)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("redis+sentinel", "rediss+sentinel"):
        raise ValueError(f"a Redis Sentinel URL has the form {SENTINEL_URL_FORM}")
    rest, _, query = rest.partition("?")
    location, _, path = rest.partition("/")
    userinfo, at, hosts = location.rpartition("@")
    if not at:
        hosts = location
    username = password = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = []
    for item in hosts.split(","):
        found = _HOST_PORT.match(item.strip())
        if found is None:
            raise ValueError(
                f"sentinel address {item.strip()!r} is not HOST or HOST:PORT "
                f"(form: {SENTINEL_URL_FORM})"
            )
        port = int(found["port"] or SENTINEL_PORT)
        if not 0 < port < 65536:
            raise ValueError(f"sentinel port {port} is out of range")
        sentinels.append((found["ip6"] or found["host"], port))
    parts = [unquote(part) for part in path.split("/") if part]
    if not parts:
        raise ValueError(f"names no service (the sentinels' master name): {SENTINEL_URL_FORM}")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError(f"path must be /SERVICE or /SERVICE/DB (form: {SENTINEL_URL_FORM})")
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - _SENTINEL_QUERY)
    if unknown:
        accepted = ", ".join(sorted(_SENTINEL_QUERY))
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; accepted: {accepted}")
    return SentinelUrl(
        sentinels=tuple(sentinels),
        service_name=parts[0],
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username", [None])[-1],
        sentinel_password=options.get("sentinel_password", [None])[-1],
        tls=scheme == "rediss+sentinel",
    )


class _SentinelRedis(redis.asyncio.Redis):
    """A primary's client that closes the sentinel clients it was made from."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        sentinel, self.sentinels = self.sentinels, None
        if sentinel is not None:
            await sentinel.aclose()


def redis_connection(url: str, *, retries: int = CONNECT_RETRIES) -> redis.asyncio.Redis:
    """A pooled asyncio client for `url`, set up for bullmq (see the module docstring).

    `url` is redis://, rediss://, unix:// or a Redis Sentinel URL (`SentinelUrl`).
    """
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
    }
    if not is_sentinel_url(url):
        return redis.asyncio.from_url(url, **options)
    spec = parse_sentinel_url(url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        spec.sentinels,
        sentinel_kwargs={
            "socket_timeout": CONNECT_TIMEOUT_S,
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "username": spec.sentinel_username,
            "password": spec.sentinel_password,
        },
    )
    client = sentinel.master_for(
        spec.service_name,
        redis_class=_SentinelRedis,
        db=spec.db,
        username=spec.username,
        password=spec.password,
        ssl=spec.tls,
        **options,
    )
    assert isinstance(client, _SentinelRedis)
    client.sentinels = sentinel
    return client
