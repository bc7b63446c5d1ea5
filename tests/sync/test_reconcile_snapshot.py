"""The reconcile snapshot reads the tenant and its packages once (not per row) and builds
exactly what `load_desired` builds, for every shape of subscriber row; its router read
overlaps with building the plans."""

from __future__ import annotations

from sqlalchemy import select, update

from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.desired import load_desired
from mikrosync.sync.reconcile import _snapshot, _snapshot_rows, reconcile_router
from mikrosync.tenants.models import Tenant
from tests.plugins.sync import World


async def test_batch_desired_equals_load_desired(world: World) -> None:
    assert world.deps is not None
    plain = await world.subscriber("pppoe")
    suspended = await world.subscriber("hotspot")
    static = await world.subscriber("static", static_ip="10.9.0.7")
    moving = await world.subscriber("pppoe")
    removed = await world.subscriber("pppoe")
    ids = [row["id"] for row in (plain, suspended, static, moving, removed)]
    await world.call("POST", f"/subscribers/{suspended['id']}/suspend")
    other = world.packages["hotspot"]["id"]
    async with world.deps.sessionmaker() as session:
        # a package change on its way, a removal on its way, no password at all
        await session.execute(
            update(Subscriber).where(Subscriber.id == moving["id"]).values(pending_package_id=other)
        )
        await session.execute(
            update(Subscriber)
            .where(Subscriber.id == removed["id"])
            .values(pending_removal=True, password_encrypted=None)
        )
        await session.execute(
            update(Tenant)
            .where(Tenant.id == world.owner.tenant_id)
            .values(suspension_profile="please-pay")
        )
        await session.commit()

    router = await _router(world)
    rows = await _snapshot_rows(world.deps, router)
    assert rows.tenant.suspension_profile == "please-pay"
    snapshot = await _snapshot(rows, world.deps.vault, None)
    assert [e.desired.subscriber_id for e in snapshot.expected] == sorted(ids)
    assert snapshot.package_ids == {p["id"] for p in world.packages.values()}
    async with world.deps.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.id.in_(ids)).order_by(Subscriber.id)
        for row, expected in zip(
            (await session.scalars(query)).all(), snapshot.expected, strict=True
        ):
            assert expected.desired == await load_desired(session, row, world.deps.vault)


async def test_snapshot_and_read_overlap_and_find_no_drift_on_a_synced_router(world: World) -> None:
    assert world.deps is not None
    for service, extra in (("pppoe", {}), ("hotspot", {}), ("static", {"static_ip": "10.9.0.8"})):
        created = await world.subscriber(service, **extra)
        await world.converge(created["id"])
    progress: list[str] = []
    outcome = await reconcile_router(
        world.deps,
        world.router["id"],
        dry_run=True,
        progress=lambda label, _count: progress.append(label),
    )
    assert outcome.error is None
    assert not any(v for k, v in outcome.counts.items() if k != "unmanaged")
    assert "database" in progress and "/ppp/secret" in progress


async def _router(world: World) -> Router:
    assert world.deps is not None
    async with world.deps.sessionmaker() as session:
        router = await session.get(Router, world.router["id"])
    assert router is not None
    return router
