"""Migrations on a fresh database of each backend: up, down, up again, and no model drift."""

from __future__ import annotations

import asyncio

from alembic import command

from mikrosync.db import migrate
from tests.plugins.db import TABLES, tables_of


async def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await tables_of(fresh_url) == TABLES
    await asyncio.to_thread(migrate.downgrade, fresh_url, "base")
    assert await tables_of(fresh_url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await tables_of(fresh_url) == TABLES


async def test_models_match_the_migrations(fresh_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    # Raises if autogenerate would produce a new migration (a model changed without one).
    await asyncio.to_thread(command.check, migrate.alembic_config(fresh_url))


async def test_voucher_migration_down_and_up(fresh_url: str) -> None:
    """0016a alone: its three tables come and go, the rest stays (0017a follows it)."""
    later = {"router_outages", "audit_log"}
    vouchers = {"voucher_batches", "vouchers", "voucher_events"}
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    await asyncio.to_thread(migrate.downgrade, fresh_url, "0015a")
    assert await tables_of(fresh_url) == TABLES - vouchers - later
    await asyncio.to_thread(migrate.upgrade, fresh_url, "0016a")
    assert await tables_of(fresh_url) == TABLES - later
