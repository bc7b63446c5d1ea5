"""Requests take their database session in the order they arrived.

SQLAlchemy's async pool waits for a free connection on an `asyncio.Queue`, and that queue lets a
request that arrives just as a connection is returned take it ahead of the request woken for it;
the woken one goes back to the end of the line. Under load some requests lost that race again
and again: `make load` (200 clients, 20 connections a `serve` process) read p50 0.37 s but p99
13.2 s (tests/load/results/summary-962a1c3.md). `asyncio.Semaphore` hands a freed slot to its
oldest waiter, so a request queues here, in arrival order, before it asks the pool.

A request holds one slot for its own session. The slots are the pool's steady size, not its
size plus overflow: what a request opens beside its session (a reconcile's own session, the
audit entry written after the answer) and the process's background readers find connections
left, so no slot holder waits on the pool for one held by another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc

from mikrosync.db.session import POOL_SIZE, POOL_TIMEOUT_S


class SessionAdmission:
    """A fair limit on request sessions, one per event loop (tests run apps on several)."""

    def __init__(self, slots: int = POOL_SIZE, timeout_s: float = POOL_TIMEOUT_S) -> None:
        self.slots = slots
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Wait for a slot (as long as the pool would wait for a connection: then 503)."""
        semaphore = self._semaphore_of_this_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                await semaphore.acquire()
        except TimeoutError:
            raise sa_exc.TimeoutError(
                f"no database session free within {self.timeout_s:.0f} s"
            ) from None
        try:
            yield
        finally:
            semaphore.release()

    def _semaphore_of_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or loop is not self._loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.slots)
        return self._semaphore
