"""Engine and session factory. Callers receive a sessionmaker; nothing builds its own engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionMaker = async_sessionmaker[AsyncSession]

# Seconds after which a pooled PostgreSQL connection is replaced on its next checkout.
POOL_RECYCLE_S = 1800
# Seconds a new PostgreSQL connection may take (asyncpg's default is 60): while the server is
# unreachable, a request answers 503 within this instead of hanging.
CONNECT_TIMEOUT_S = 5.0
# Waiting for a free pooled connection (SQLAlchemy's default): a burst (1,000 payment callbacks
# at once) queues for the pool on a loaded machine; only after this does it answer 503.
POOL_TIMEOUT_S = 30.0
# Connections a PostgreSQL pool keeps, and how many more it opens in a burst.
POOL_SIZE = 10
POOL_OVERFLOW = 10
# SQLSTATE classes of a server that is gone or going: connection exceptions (08...) and
# operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
_UNAVAILABLE_SQLSTATES = ("08", "57P")


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API and the worker (separate processes) read while one writes; the busy
    # timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect; a refused or timed-out connection raises the driver's OperationalError (not a
    bare OSError), so SQLAlchemy wraps it like every other database error."""
    try:
        return dialect.connect(*cargs, **cparams)
    except dialect.loaded_dbapi.Error:
        raise
    except Exception as exc:  # asyncpg raises OSError, TimeoutError or its own errors here
        raise dialect.loaded_dbapi.OperationalError(
            f"cannot connect to the database: {type(exc).__name__}: {exc}", exc
        ) from exc


def _replace_closed(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """The cheap half of a pre-ping: a pooled connection whose server went away (a restart
    ends every session) is already marked closed by asyncpg, without a round trip; hand out a
    new one instead of failing the request's first statement."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise sa_exc.DisconnectionError("the database server closed this pooled connection")


def database_unavailable(exc: BaseException) -> bool:
    """True if `exc` says the database cannot be reached now (down, restarting, connection
    lost, no pooled connection free in time), as opposed to a bug or a bad statement."""
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    cause: BaseException | None = exc.orig
    while cause is not None:
        if isinstance(cause, (OSError, TimeoutError)):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if "connection is closed" in str(cause) or "cannot connect" in str(cause):
            return True
        cause = cause.__cause__
    return False


def make_engine(database_url: str, *, echo: bool = False) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        # Pooled (SQLAlchemy's queue pool): opening an aiosqlite connection starts a thread and
        # runs the PRAGMAs below, 2 ms of CPU that every session paid when each opened its own.
        # An idle pooled connection holds no lock in WAL mode; `Runtime.close` disposes them.
        engine = create_async_engine(database_url, echo=echo)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    # No pre-ping: it cost `BEGIN; SELECT 1; ROLLBACK` on every checkout (3 round trips per
    # session; bench/README.md item 1). A connection the server closed while idle fails its
    # first statement instead: the request or job fails and is retried (the converge runs its
    # claim and release writes once more on a fresh connection). `pool_recycle` retires
    # connections before common idle cut-offs (proxies, pgbouncer, firewalls) close them.
    # A server restart, though, is seen without a round trip (`_replace_closed`), and a
    # server that is down fails a connect within CONNECT_TIMEOUT_S (docs/deployment.md).
    engine = create_async_engine(
        database_url,
        echo=echo,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_recycle=POOL_RECYCLE_S,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={"timeout": CONNECT_TIMEOUT_S},
    )
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine.pool, "checkout", _replace_closed)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    """Sessions for requests that only read (GET and HEAD): on PostgreSQL without BEGIN and
    ROLLBACK around them. Under READ COMMITTED every statement takes its own snapshot inside a
    transaction too, so a read sees exactly what it would have; what goes is two round trips of
    a read's four (BEGIN, principal, data, ROLLBACK): 13 % of a loaded `serve` process's CPU
    went to BEGIN alone (py-spy, `make load`). SQLite, which has no round trips, keeps its
    transactions."""
    if engine.dialect.name != "postgresql":
        return make_sessionmaker(engine)
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
