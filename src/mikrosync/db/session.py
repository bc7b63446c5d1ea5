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
    return create_async_engine(database_url, echo=echo, pool_pre_ping=True, pool_size=10)


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)
