"""Migrations on a fresh database of each backend: up, down, up again, and no model drift."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from mikrosync.db import migrate
from mikrosync.db.session import make_engine
from tests.conftest import _create_postgres_database, _drop_postgres_database

TABLES = {
    "tenants",
    "staff_users",
    "routers",
    "packages",
    "subscribers",
    "sync_events",
    "reconcile_runs",
    "voucher_batches",
    "vouchers",
    "voucher_events",
    "router_outages",
    "audit_log",
    "alembic_version",
    "payments",
    "wallets",
    "wallet_entries",
    "payment_settings",
    "mpesa_accounts",
    "stk_requests",
    "message_settings",
    "customer_messages",
    "payment_webhooks",
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url = await _create_postgres_database()
    yield url
    await _drop_postgres_database(url)


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


async def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await _tables(fresh_url) == TABLES
    await asyncio.to_thread(migrate.downgrade, fresh_url, "base")
    assert await _tables(fresh_url) == {"alembic_version"}
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await _tables(fresh_url) == TABLES


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
    assert await _tables(fresh_url) == TABLES - vouchers - later
    await asyncio.to_thread(migrate.upgrade, fresh_url, "0016a")
    assert await _tables(fresh_url) == TABLES - later
