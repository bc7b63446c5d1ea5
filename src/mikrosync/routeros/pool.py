"""Per-router connection pool, and the registry that shares one pool per router.

Why a pool: logging in costs a round trip or two (more with TLS), and RouterOS limits API
sessions (``max-sessions``, 20 by default), so jobs reuse a few connections instead of opening one
each. Why bounded (default 4): many workers towards one router must not exhaust its connection
limit, which would also lock out the operator's Winbox.

Rules:

- at most ``max_sessions`` sessions are leased at once; further callers wait;
- an idle connection is reused only if its socket is still open (a router restart closes it);
- a connection that failed mid-command (timeout, lost connection, ``!fatal``, early stop of a
  stream) is closed, never returned (see ``connection.py``);
- ``run`` retries an operation once when its first command failed on a *reused* connection with a
  lost connection before any reply sentence: that connection died while idle (the router
  restarted), so the command most likely never arrived. Operations are idempotent (they
  re-read before writing), so even the unlikely other case is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from mikrosync.routeros.config import RouterConfig
from mikrosync.routeros.connection import Connection, open_connection
from mikrosync.routeros.errors import ConnectionLost

T = TypeVar("T")


class PoolClosed(RuntimeError):
    """The pool was closed (shutdown) and accepts no more work: a programming error."""


class RouterPool:
    """Bounded set of reusable connections to one router."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(config.max_sessions)
        self._idle: list[Connection] = []
        self._closed = False
        self.opened = 0
        """Connections opened so far (tests and metrics: reuse means this stays low)."""
        self.remembered_objects: dict[
            tuple[str, str], tuple[tuple[tuple[str, object], ...], float]
        ] = {}
        """Objects this process made or saw exactly so on this router, by (menu, key): their
        written fields and until when (monotonic) to trust that (``RouterClient.ensure_known``)."""

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Lease a connection for a few commands; it goes back to the pool if still in step."""
        if self._closed:
            raise PoolClosed(f"pool for {self.config.describe()} is closed")
        async with self._slots:
            connection = await self._take()
            try:
                yield connection
            finally:
                await self._give_back(connection)

    async def run(self, operation: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``operation`` on a leased connection, retrying once on a stale reused one."""
        async with self.connection() as connection:
            try:
                return await operation(connection)
            except ConnectionLost:
                if not (connection.reused and connection.commands == 1 and not connection.replied):
                    raise
        async with self.connection() as connection:
            return await operation(connection)

    async def close(self) -> None:
        """Close idle connections now; leased ones are closed when their lease ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _take(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.looks_alive():
                connection.reused = True
                connection.commands = 0
                return connection
            await connection.close()
        connection = await open_connection(self.config)
        self.opened += 1
        return connection

    async def _give_back(self, connection: Connection) -> None:
        if connection.broken or self._closed:
            await connection.close()
        else:
            self._idle.append(connection)
