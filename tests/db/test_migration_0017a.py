"""Migration 0017a (router outages, audit log) down to its parent 0016a and up again, on both
backends."""

from __future__ import annotations

import asyncio

from mikrosync.db import migrate
from tests.db.test_migrations import TABLES, _tables, fresh_url  # noqa: F401 (fixture)

NEW = {"router_outages", "audit_log"}


async def test_0017a_down_and_up(fresh_url: str) -> None:  # noqa: F811
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await _tables(fresh_url) == TABLES
    await asyncio.to_thread(migrate.downgrade, fresh_url, "0016a")
    assert await _tables(fresh_url) == TABLES - NEW
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    assert await _tables(fresh_url) == TABLES
