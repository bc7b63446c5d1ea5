"""Per-router session pool, and the registry that shares one pool per router.

Why a pool: logging in costs a round trip or two (more with TLS), and RouterOS limits API
sessions (``max-sessions``, 20 by default), so jobs reuse a few sessions instead of opening one
each. Why bounded (default 4): many workers towards one router must not exhaust its session
limit, which would also lock out the operator's Winbox.

Rules:

- at most ``max_sessions`` sessions are leased at once; further callers wait;
- an idle session is reused only if its socket is still open (a router restart closes it);
- a session that failed mid-command (timeout, lost connection, ``!fatal``, early stop of a
  stream) is closed, never returned (see ``session.py``);
- ``run`` retries an operation once when its first command failed on a *reused* session with a
  lost connection before any reply sentence: that session died while idle (the router
  restarted), so the command most likely never arrived. Operations are idempotent (they
  re-read before writing), so even the unlikely other case is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from mikrosync.routeros.config import RouterConfig
from mikrosync.routeros.errors import ConnectionLost
from mikrosync.routeros.session import Session, open_session

T = TypeVar("T")


class PoolClosed(RuntimeError):
    """The pool was closed (shutdown) and accepts no more work: a programming error."""


class RouterPool:
    """Bounded set of reusable sessions to one router."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(config.max_sessions)
        self._idle: list[Session] = []
        self._closed = False
        self.opened = 0
        """Sessions opened so far (tests and metrics: reuse means this stays low)."""
        self.known: dict[tuple[str, str], tuple[tuple[tuple[str, object], ...], float]] = {}
        """Objects this process made or saw exactly so on this router, by (menu, key): their
        written fields and until when (monotonic) to trust that (``RouterClient.ensure_known``)."""

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """Lease a session for a few commands; it goes back to the pool if still in step."""
        if self._closed:
            raise PoolClosed(f"pool for {self.config.describe()} is closed")
        async with self._slots:
            session = await self._take()
            try:
                yield session
            finally:
                await self._give_back(session)

    async def run(self, operation: Callable[[Session], Awaitable[T]]) -> T:
        """Run ``operation`` on a leased session, retrying once on a stale reused session."""
        async with self.session() as session:
            try:
                return await operation(session)
            except ConnectionLost:
                if not (session.reused and session.commands == 1 and not session.replied):
                    raise
        async with self.session() as session:
            return await operation(session)

    async def close(self) -> None:
        """Close idle sessions now; leased ones are closed when their lease ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for session in idle:
            await session.close()

    async def _take(self) -> Session:
        while self._idle:
            session = self._idle.pop()
            if session.looks_alive():
                session.reused = True
                session.commands = 0
                return session
            await session.close()
        session = await open_session(self.config)
        self.opened += 1
        return session

    async def _give_back(self, session: Session) -> None:
        if session.broken or self._closed:
            await session.close()
        else:
            self._idle.append(session)
