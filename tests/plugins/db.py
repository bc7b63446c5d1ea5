"""Migration tests' fixtures (tests/db): a fresh, unmigrated database of each backend, and the
tables a fully migrated database has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from mikrosync.db.session import make_engine
from tests.plugins.core import _create_postgres_database, _drop_postgres_database

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


async def tables_of(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names
