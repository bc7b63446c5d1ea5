"""Engine and session factory. Callers receive a sessionmaker; nothing builds its own engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

SessionMaker = async_sessionmaker[AsyncSession]

# Seconds after which a pooled PostgreSQL connection is replaced on its next checkout.
POOL_RECYCLE_S = 1800


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API and the worker (separate processes) read while one writes; the busy
    # timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        # NullPool: each session opens its own SQLite connection, so no connection is shared
        # across event loops (tests) and file locks are released promptly.
        engine = create_async_engine(database_url, echo=echo, poolclass=NullPool)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    # No pre-ping: it cost `BEGIN; SELECT 1; ROLLBACK` on every checkout (3 round trips per
    # session; bench/README.md item 1). A connection the server closed while idle fails its
    # first statement instead: the request or job fails and is retried (the converge runs its
    # claim and release writes once more on a fresh connection). `pool_recycle` retires
    # connections before common idle cut-offs (proxies, pgbouncer, firewalls) close them.
    return create_async_engine(database_url, echo=echo, pool_size=10, pool_recycle=POOL_RECYCLE_S)


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)
