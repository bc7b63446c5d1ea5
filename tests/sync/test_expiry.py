"""expire_due: the tenant's expired subscribers are suspended as intent, in batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mikrosync.sync.context import SyncContext
from mikrosync.sync.expiry import active_tenant_ids, expire_due, interleave_by_router
from mikrosync.sync.sweep import Hint
from tests.helpers import make_subscriber
from tests.plugins.core import TenantFactory
from tests.plugins.sync import World


async def _expire(deps: SyncContext, tenant_id: int, **options: int) -> list[Hint]:
    return [hint async for hints in expire_due(deps, tenant_id, **options) for hint in hints]


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def test_expired_subscribers_are_suspended_with_a_disconnect_intent(world: World) -> None:
    due = [await world.subscriber(expires_at=_iso(timedelta(seconds=-5))) for _ in range(3)]
    later = await world.subscriber(expires_at=_iso(timedelta(hours=1)))
    assert world.deps is not None
    hints = await _expire(world.deps, world.owner.tenant_id or 0, batch=2)
    assert sorted(h.subscriber_id for h in hints) == sorted(d["id"] for d in due)
    assert {h.job_name for h in hints} == {"disconnectUser"}
    for row in due:
        status = await world.status(row["id"])
        assert status["is_suspended"] and status["suspend_reason"] == "expired"
        assert status["sync_status"] == "pending" and status["desired_version"] == 2
        events = await world.call("GET", f"/subscribers/{row['id']}/events")
        assert events[0]["operation"] == "disconnectUser" and events[0]["actor"] == "expiry"
    assert not (await world.status(later["id"]))["is_suspended"]
    assert await _expire(world.deps, world.owner.tenant_id or 0) == []


async def test_renewed_subscriber_is_not_cut(world: World) -> None:
    created = await world.subscriber(expires_at=_iso(timedelta(seconds=-1)))
    await world.call("POST", f"/subscribers/{created['id']}/renew")
    assert world.deps is not None
    assert await _expire(world.deps, world.owner.tenant_id or 0) == []
    assert not (await world.status(created["id"]))["is_suspended"]


async def test_scan_covers_many_tenants(world: World, factory: TenantFactory) -> None:
    assert world.deps is not None
    others = []
    for _ in range(3):
        staff = await factory.staff(await factory.tenant())
        row = await make_subscriber(world.client, staff, expires_at=_iso(timedelta(seconds=-1)))
        others.append((staff.tenant_id, row["id"]))
    tenants = await active_tenant_ids(world.deps)
    assert {tenant for tenant, _ in others} <= set(tenants)
    for tenant_id, subscriber_id in others:
        hints = await _expire(world.deps, tenant_id or 0)
        assert [h.subscriber_id for h in hints] == [subscriber_id]


def test_hints_alternate_between_routers() -> None:
    placed = [(1, 10), (2, 10), (3, 10), (4, 20), (5, 30)]
    assert [h.subscriber_id for h in interleave_by_router(placed)] == [1, 4, 5, 2, 3]
