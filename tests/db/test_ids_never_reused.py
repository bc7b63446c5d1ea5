"""Ids are never given twice, on either backend (issue 14, defect 2).

SQLite without AUTOINCREMENT gives a new row the largest id plus one, so deleting the newest
row handed its id to the next: an old failed job `{"subscriber_id": 4}` then showed under the
new subscriber 4. Migration 0018a rebuilds the SQLite tables with AUTOINCREMENT, keeping their
rows and child rows (foreign keys are off during the rebuild, so nothing cascades).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from mikrosync.db import migrate
from mikrosync.db.session import make_engine

NOW = "2026-01-01 00:00:00"


async def _execute(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    engine = make_engine(url)
    results = []
    try:
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
                results.append([tuple(row) for row in result.all()] if result.returns_rows else [])
    finally:
        await engine.dispose()
    return results


def _tenant(slug: str) -> str:
    return (
        "INSERT INTO tenants (slug, name, is_active, reconcile_policy, timezone, created_at, "
        f"updated_at) VALUES ('{slug}', '{slug}', true, '{{}}', 'UTC', '{NOW}', '{NOW}') "
        "RETURNING id"
    )


def _staff(tenant_id: int, email: str) -> str:
    return (
        "INSERT INTO staff_users (tenant_id, email, password_hash, role, is_platform_admin, "
        f"is_active, created_at, updated_at) VALUES ({tenant_id}, '{email}', 'x', 'owner', "
        f"false, true, '{NOW}', '{NOW}') RETURNING id"
    )


async def _new_id(url: str, slug: str) -> int:
    [[(new_id,)]] = await _execute(url, _tenant(slug))
    return int(new_id)


@pytest.mark.regression
async def test_a_deleted_rows_id_is_never_given_again(fresh_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    first = await _new_id(fresh_url, "first")
    newest = await _new_id(fresh_url, "newest")
    await _execute(fresh_url, f"DELETE FROM tenants WHERE id = {newest}")
    after = await _new_id(fresh_url, "after")
    assert after > newest > first


@pytest.mark.regression
async def test_0018a_keeps_rows_and_children_and_stops_reuse(fresh_url: str) -> None:
    """An existing database (at 0017a, ids reusable on SQLite) upgraded in place."""
    await asyncio.to_thread(migrate.upgrade, fresh_url, "0017a")
    kept = await _new_id(fresh_url, "kept")
    [[(staff_id,)]] = await _execute(fresh_url, _staff(kept, "kept@isp.test"))
    newest = await _new_id(fresh_url, "newest")

    await asyncio.to_thread(migrate.upgrade, fresh_url)

    [tenants, staff] = await _execute(
        fresh_url,
        "SELECT id, slug FROM tenants ORDER BY id",
        "SELECT id, tenant_id, email FROM staff_users",
    )
    assert tenants == [(kept, "kept"), (newest, "newest")]
    assert staff == [(staff_id, kept, "kept@isp.test")]  # the rebuild cascaded nothing
    await _execute(fresh_url, f"DELETE FROM tenants WHERE id = {newest}")
    assert await _new_id(fresh_url, "after") > newest
    # Foreign keys are on again and still act: deleting the tenant cascades to its staff.
    [_, [(left,)]] = await _execute(
        fresh_url, f"DELETE FROM tenants WHERE id = {kept}", "SELECT count(*) FROM staff_users"
    )
    assert left == 0
