"""ids are never reused on SQLite: integer primary keys with AUTOINCREMENT

Revision ID: 0018a
Revises: 0017a
Create Date: 2026-12-10

Without AUTOINCREMENT, SQLite gives a new row the largest id in the table plus one, so deleting
the newest subscriber hands its id to the next one, and whatever still names the old id (a
failed job `{"subscriber_id": 4}` kept by BullMQ, a log line, an export) then names the new
one. With AUTOINCREMENT an id is never given twice (`sqlite_sequence` keeps the largest ever
used). PostgreSQL already never reuses ids (sequences): nothing to do there.

SQLite cannot change a column in place, so each table is rebuilt with SQLite's "generalized
ALTER TABLE" procedure (https://www.sqlite.org/lang_altertable.html#otheralter) from its own
stored CREATE statement, which keeps every column, constraint, default and index exactly as
it was. The environment (env.py) turns foreign keys off around SQLite migrations, as that
procedure requires (a DROP TABLE with them on would cascade into the child tables), and
checks them afterwards. The largest id in use seeds `sqlite_sequence`: ids freed before this
migration cannot be known any more.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018a"
down_revision: str | None = "0017a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID_COLUMN = re.compile(r"(\n\s*)id INTEGER NOT NULL,")


def _pk_line(table: str) -> re.Pattern[str]:
    return re.compile(rf",\s*\n\s*CONSTRAINT pk_{re.escape(table)} PRIMARY KEY \(id\)")


def _tables(connection: sa.Connection) -> list[tuple[str, str]]:
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
    ).all()
    return [(str(name), str(sql)) for name, sql in rows]


def _rebuild(connection: sa.Connection, table: str, new_create: str) -> None:
    others = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL",
        (table,),
    ).all()
    temporary = f"_autoincrement_{table}"
    # The stored statement names the table bare or quoted (a table renamed by an earlier
    # rebuild is stored as `CREATE TABLE "name"`).
    head = re.compile(rf'^CREATE TABLE\s+(?:"{re.escape(table)}"|{re.escape(table)})\s*\(')
    renamed, found = head.subn(f'CREATE TABLE "{temporary}" (', new_create, count=1)
    if not found:
        raise RuntimeError(f"unexpected CREATE statement of table {table}: {new_create[:80]}")
    connection.exec_driver_sql(renamed)
    connection.exec_driver_sql(f'INSERT INTO "{temporary}" SELECT * FROM "{table}"')
    connection.exec_driver_sql(f'DROP TABLE "{table}"')
    connection.exec_driver_sql(f'ALTER TABLE "{temporary}" RENAME TO "{table}"')
    for (sql,) in others:
        connection.exec_driver_sql(sql)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    for table, create in _tables(connection):
        if "AUTOINCREMENT" in create.upper():
            continue
        pk = _pk_line(table)
        if not (_ID_COLUMN.search(create) and pk.search(create)):
            continue  # no single integer `id` key (e.g. keyed by tenant_id)
        new_create = pk.sub("", create, count=1)
        new_create = _ID_COLUMN.sub(
            rf"\1id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,",
            new_create,
            count=1,
        )
        _rebuild(connection, table, new_create)


def downgrade() -> None:
    # Nothing to undo that matters: AUTOINCREMENT only stops ids being reused.
    pass
