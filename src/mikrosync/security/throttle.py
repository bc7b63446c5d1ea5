"""Login throttling: after repeated failures for one email (or from one address), further
attempts are refused for a while, whichever API process they reach.

Counters live in Redis (shared by every process), one fixed window per key. When Redis cannot
be reached they fall back to this process's memory, so a Redis outage never opens the door to
unlimited guessing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from mikrosync.db.redis import redis_connection

MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 50
WINDOW_S = 900
REDIS_RETRY_S = 30.0


@dataclass
class LoginThrottle:
    redis_url: str
    prefix: str
    window_s: int = WINDOW_S
    _memory: dict[str, tuple[int, float]] = field(default_factory=dict)
    _redis: redis.asyncio.Redis | None = None
    _redis_down_until: float = 0.0

    def _keys(self, email: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"{self.prefix}:login-fail:email:{email.lower()}", MAX_FAILURES_PER_EMAIL)]
        if address:
            keys.append((f"{self.prefix}:login-fail:addr:{address}", MAX_FAILURES_PER_ADDRESS))
        return keys

    async def retry_after(self, email: str, address: str | None) -> int | None:
        """Seconds to wait before another attempt is accepted, or None if it may go ahead."""
        waits = []
        for key, limit in self._keys(email, address):
            count, ttl = await self._read(key)
            if count >= limit:
                waits.append(max(ttl, 1))
        return max(waits) if waits else None

    async def failed(self, email: str, address: str | None) -> None:
        for key, _ in self._keys(email, address):
            await self._increment(key)

    async def succeeded(self, email: str) -> None:
        key, _ = self._keys(email, None)[0]
        self._memory.pop(key, None)
        await self._redis_call("delete", key)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def _redis_call(self, command: str, *args: Any) -> Any:
        """Run one Redis command; None (and memory fallback by the caller) if Redis is down."""
        if time.monotonic() < self._redis_down_until:
            return None
        if self._redis is None:
            self._redis = redis_connection(self.redis_url)
        try:
            return await getattr(self._redis, command)(*args)
        except (RedisError, OSError):
            # Don't pay a connect timeout on every login while Redis is away.
            self._redis_down_until = time.monotonic() + REDIS_RETRY_S
            return None

    async def _read(self, key: str) -> tuple[int, int]:
        count = await self._redis_call("get", key)
        if count is not None:
            return int(count), int(await self._redis_call("ttl", key) or 0)
        memory_count, until = self._memory.get(key, (0, 0.0))
        remaining = int(until - time.monotonic())
        return (memory_count, remaining) if remaining > 0 else (0, 0)

    async def _increment(self, key: str) -> None:
        count = await self._redis_call("incr", key)
        if count is not None:
            if count == 1:
                await self._redis_call("expire", key, self.window_s)
            return
        memory_count, until = self._memory.get(key, (0, 0.0))
        if until <= time.monotonic():
            memory_count, until = 0, time.monotonic() + self.window_s
        self._memory[key] = (memory_count + 1, until)
