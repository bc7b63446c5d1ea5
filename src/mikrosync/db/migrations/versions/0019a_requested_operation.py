"""subscribers.requested_operation: the job name of the latest intent

Revision ID: 0019a
Revises: 0018a
Create Date: 2026-12-10

The job pushed for a change carries the operation its timeline row records (a password PATCH
records and pushes `updateUser`); rows pending at upgrade time keep the name derived from
their state until their next change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019a"
down_revision: str | None = "0018a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("requested_operation", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Dropping a column rebuilds the table on SQLite: keep its AUTOINCREMENT key (0018a).
    with op.batch_alter_table("subscribers", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("requested_operation")
