"""Monotonic counters kept in Redis: counted once, where an outcome happens, read by any process.

Prometheus counters must only ever rise and be counted once. The processes that see outcomes
(workers, a CLI reconcile) are not the ones scraped (`serve`, possibly several replicas), so
the counts live in Redis, next to the queue and under its prefix: each increment is an atomic
HINCRBY (a batch of them one MULTI), and every replica reads the same single total.

A family is one hash `<prefix>:mikrosync:counters:<family>`; a field is the JSON list of a
sample's label values. Counters start again from zero only if Redis loses its data, which
Prometheus reads as the counter reset it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import redis.asyncio

from mikrosync.db.redis import redis_connection

Increment = tuple[str, Sequence[str], int]
"""(family, label values, amount)."""


class RedisCounters:
    """The counters of one queue prefix; the Redis client is made on first use (in the loop)."""

    def __init__(self, redis_url: str, *, prefix: str) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._client: redis.asyncio.Redis | None = None

    def key(self, family: str) -> str:
        return f"{self.prefix}:mikrosync:counters:{family}"

    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            self._client = redis_connection(self.redis_url)
        return self._client

    async def add(self, increments: Iterable[Increment]) -> None:
        """Add every increment, atomically (one MULTI/EXEC). Raises redis errors."""
        merged: dict[tuple[str, str], int] = {}
        for family, labels, amount in increments:
            if amount:
                field = json.dumps(list(labels))
                merged[(family, field)] = merged.get((family, field), 0) + amount
        if not merged:
            return
        async with self._redis().pipeline(transaction=True) as pipe:
            for (family, field), amount in merged.items():
                pipe.hincrby(self.key(family), field, amount)
            await pipe.execute()

    async def read(self, families: Sequence[str]) -> dict[str, dict[tuple[str, ...], int]]:
        """Every sample of `families` (one MULTI, so one consistent view). Raises redis errors."""
        async with self._redis().pipeline(transaction=True) as pipe:
            for family in families:
                pipe.hgetall(self.key(family))
            results = await pipe.execute()
        return {
            family: {tuple(json.loads(field)): int(value) for field, value in result.items()}
            for family, result in zip(families, results, strict=True)
        }

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
