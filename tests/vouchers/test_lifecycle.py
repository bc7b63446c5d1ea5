"""A voucher's life read from the simulated router: first login -> active (validity starts),
validity passed or data used up -> expired -> removed from the router with its session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from mikrosync.clock import now
from mikrosync.vouchers.lifecycle import judge, parse_uptime, scan_all, stale_batches
from mikrosync.vouchers.models import BatchStatus, Voucher, VoucherState
from tests.plugins.vouchers import USERS, VoucherSite


def test_uptimes_parse_both_router_formats() -> None:
    assert parse_uptime("1w2d3h4m5s") == 7 * 86400 + 2 * 86400 + 3 * 3600 + 245
    assert parse_uptime("0s") == 0
    assert parse_uptime("1d02:03:04") == 86400 + 2 * 3600 + 184
    assert parse_uptime(None) == 0


async def test_first_login_then_validity_passed_removes_the_user(site: VoucherSite) -> None:
    created = await site.batch(count=5, validity="1h")
    await site.carry(created.id)
    _, vouchers = await site.load(created.id)
    used, idle = vouchers[0], vouchers[1]
    assert site.sim.dial_in("hotspot", used.code)
    assert site.deps is not None
    owed, errors = await scan_all(site.deps)  # (other tests' routers are down: their errors)
    assert created.id not in owed and site.router["id"] not in errors
    _, vouchers = await site.load(created.id)
    first = vouchers[0]
    assert first.state == VoucherState.ACTIVE and first.first_login_at is not None
    assert first.expires_at is not None
    assert timedelta(minutes=59) < first.expires_at - first.first_login_at <= timedelta(hours=1)
    assert vouchers[1].state == VoucherState.UNUSED
    assert site.runtime is not None
    async with site.runtime.sessionmaker() as session:  # an hour later
        await session.execute(update(Voucher).where(Voucher.id == used.id).values(expires_at=now()))
        await session.commit()
    owed, _ = await scan_all(site.deps)
    assert created.id in owed
    batch, vouchers = await site.load(created.id)
    assert vouchers[0].state == VoucherState.EXPIRED and batch.status == BatchStatus.PENDING
    result = await site.carry(created.id)
    assert result.removed == 1
    batch, vouchers = await site.load(created.id)
    assert vouchers[0].state == VoucherState.REMOVED and batch.status == BatchStatus.SYNCED
    names = {row["name"] for row in site.sim.rows(USERS)}
    assert used.code not in names and idle.code in names
    assert not [r for r in site.sim.rows("/ip/hotspot/active") if r["user"] == used.code]
    assert batch.on_router == 4


async def test_data_limit_used_up_expires_the_voucher(site: VoucherSite) -> None:
    created = await site.batch(count=2, validity=None, limit_bytes_total="1M")
    await site.carry(created.id)
    _, vouchers = await site.load(created.id)
    live = site.sim.live
    moment = [1000.0]
    live.clock = lambda: moment[0]
    assert site.sim.dial_in("hotspot", vouchers[0].code)
    assert site.deps is not None
    await scan_all(site.deps)  # first login seen
    moment[0] += 600  # ten minutes online: far past 1 MiB at the simulated rates
    owed, _ = await scan_all(site.deps)
    assert created.id in owed
    _, vouchers = await site.load(created.id)
    assert vouchers[0].state == VoucherState.EXPIRED


def test_judging_is_pure() -> None:
    from mikrosync.vouchers.lifecycle import Usage
    from mikrosync.vouchers.models import VoucherBatch

    batch = VoucherBatch(limit_uptime="1h", limit_bytes_total=None, validity_minutes=None)
    voucher = Voucher(id=1, state=VoucherState.ACTIVE, expires_at=None)
    assert judge(voucher, batch, Usage(3599, 0, True), now()) is None
    change = judge(voucher, batch, Usage(3600, 0, False), now())
    assert change is not None and change.state == VoucherState.EXPIRED
    unused = Voucher(id=2, state=VoucherState.UNUSED, expires_at=None)
    assert judge(unused, batch, Usage(0, 0, False), now()) is None


async def test_a_lost_push_is_found_by_the_stale_scan(site: VoucherSite) -> None:
    created = await site.batch(count=2)
    assert site.deps is not None
    assert created.id not in await stale_batches(site.deps, 3600)
    assert created.id in await stale_batches(site.deps, 0)


async def test_scan_removes_voucher_users_the_database_does_not_know(site: VoucherSite) -> None:
    created = await site.batch(count=3)
    await site.carry(created.id)
    tenant = site.router_tenant
    site.sim.add_row(USERS, {"name": "LEFTOVER", "comment": f"mikrosync:t={tenant}:v=999-999999"})
    site.sim.add_row(USERS, {"name": "OTHERS", "comment": "mikrosync:t=999999:v=1-1"})
    assert site.deps is not None
    await scan_all(site.deps)
    names = {row["name"] for row in site.sim.rows(USERS)}
    assert "LEFTOVER" not in names and "OTHERS" in names  # another tenant's: not ours to judge
    assert len(site.users_of(created.id)) == 3
