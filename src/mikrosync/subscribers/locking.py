"""Writers lock the subscriber rows they base a change on (DESIGN §1.2: no lost update).

Two writers of one subscriber (an API request and expiry, a bulk retry, a reconciliation or a
package change) must not both build on the same read: both would record the same
`desired_version`, and a write based on a stale read could undo the worker's promotion of a
package. On PostgreSQL the rows are read with `SELECT ... FOR UPDATE`. SQLite ignores
`FOR UPDATE`, so there the transaction first takes the database's write lock with an empty
write; every read after it sees the latest commit, and no other writer commits until ours does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVarTuple

from sqlalchemy import Row, Select, text
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.subscribers.models import Subscriber

_TAKE_SQLITE_WRITE_LOCK = text("UPDATE subscribers SET id = id WHERE 0")


async def _take_write_lock(session: AsyncSession) -> None:
    """On SQLite, take the database's write lock now; elsewhere row locks do the work."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(_TAKE_SQLITE_WRITE_LOCK)


async def locked(
    session: AsyncSession, query: Select[Subscriber], *, skip_locked: bool = False
) -> Sequence[Subscriber]:
    """The query's subscribers, locked until the transaction ends and freshly read (an object
    the session already holds is overwritten with the row as it is now)."""
    await _take_write_lock(session)
    query = query.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)
    return (await session.scalars(query)).all()


_Columns = TypeVarTuple("_Columns")


async def locked_rows(
    session: AsyncSession, query: Select[*_Columns], *, skip_locked: bool = False
) -> Sequence[Row[*_Columns]]:
    """`locked` for a query of columns (no ORM objects): for set-based writers."""
    await _take_write_lock(session)
    return (await session.execute(query.with_for_update(skip_locked=skip_locked))).all()
