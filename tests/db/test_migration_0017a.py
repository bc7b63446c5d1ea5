"""Migration 0017a (router outages, audit log) down to its parent 0016a and up again, on both
backends."""

from __future__ import annotations

import asyncio

from mikrosync.db import migrate
from tests.plugins.db import TABLES, tables_of

NEW = {"router_outages", "audit_log"}


async def test_0017a_down_and_up(fresh_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await tables_of(fresh_url) == TABLES
    await asyncio.to_thread(migrate.downgrade, fresh_url, "0016a")
    assert await tables_of(fresh_url) == TABLES - NEW
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await tables_of(fresh_url) == TABLES
