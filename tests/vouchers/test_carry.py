"""The batch job against the simulator over TCP: bulk adds, resumption after a router stopped
halfway, a lost reply, a trap, collisions, deletion of exactly its own users."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from mikrosync.routeros import parse_tag
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.vouchers.models import BatchStatus, VoucherState
from tests.plugins.vouchers import USERS, VoucherSite


def assert_exact(site: VoucherSite, batch_id: int, vouchers: list[object]) -> None:
    """The router holds each voucher of the batch exactly once, under its code and tag, with
    the id the database recorded: no duplicate, no orphan, no gap."""
    users = site.users_of(batch_id)
    names = Counter(row["name"] for row in users)
    assert all(n == 1 for n in names.values()), names.most_common(3)
    by_comment = {row["comment"]: row for row in users}
    assert len(by_comment) == len(users)
    for voucher in vouchers:
        tag = f"mikrosync:t={site.router_tenant}:v={batch_id}-{voucher.id}"  # type: ignore[attr-defined]
        row = by_comment.pop(tag)
        assert row["name"] == voucher.code  # type: ignore[attr-defined]
        assert row[".id"] == voucher.router_item_id  # type: ignore[attr-defined]
    assert by_comment == {}


async def test_batch_reaches_router_in_full_and_second_run_writes_nothing(
    site: VoucherSite,
) -> None:
    created = await site.batch(count=250, limit_uptime="2h", limit_bytes_total="1G")
    result = await site.carry(created.id)
    assert result.added == 250
    batch, vouchers = await site.load(created.id)
    assert batch.status == BatchStatus.SYNCED and batch.on_router == 250
    assert_exact(site, created.id, vouchers)
    row = site.users_of(created.id)[0]
    assert row["profile"] == site.packages["hotspot"]["profile_name"]
    assert row["limit-uptime"] == "2h" and row["limit-bytes-total"] == str(1024**3)
    assert row["password"] == row["name"]  # user = password by default
    site.sim.reset_command_log()
    again = await site.carry(created.id)
    assert (again.added, again.adopted) == (0, 0)
    assert not [c for c in site.sim.command_log if c.endswith("/add")]


async def test_router_stopped_halfway_completes_after_restart(site: VoucherSite) -> None:
    created = await site.batch(count=1600)  # 8 chunks, 4 at a time (the pool's sessions)
    # The router goes down when the 401st add arrives: halfway whatever the machine's speed
    # (polling the batch's counter raced the adds, and a fast machine finished all 1,600).
    downed: list[asyncio.Task[None]] = []
    site.sim.on_command(
        lambda: downed.append(asyncio.get_running_loop().create_task(site.sim.go_down())),
        after=400,
        path=f"{USERS}/add",
    )
    with pytest.raises(TemporaryError):
        await site.carry(created.id)
    await asyncio.gather(*downed)
    batch, _ = await site.load(created.id)
    assert batch.status == BatchStatus.PENDING and "waiting for router" in (
        batch.error_message or ""
    )
    partial = len(site.users_of(created.id))
    assert 200 <= partial < 1600
    await site.sim.come_up()
    result = await site.carry(created.id)
    assert result.adopted + result.added + batch.on_router == 1600
    batch, vouchers = await site.load(created.id)
    assert batch.status == BatchStatus.SYNCED and batch.on_router == 1600
    assert_exact(site, created.id, vouchers)


async def test_lost_reply_is_adopted_not_added_twice(site: VoucherSite) -> None:
    created = await site.batch(count=30)
    site.sim.ghost_next(1, path=f"{USERS}/add")  # applied on the router, reply never sent
    with pytest.raises(TemporaryError):
        await site.carry(created.id)
    # The ghosted chunk's first add is on the router; the other chunk went through.
    before = await site.on_router(created.id)
    on_router = len(site.users_of(created.id))
    assert on_router == before + 1
    result = await site.carry(created.id)
    assert result.adopted == 1 and result.added == 30 - on_router
    _, vouchers = await site.load(created.id)
    assert_exact(site, created.id, vouchers)


async def test_transient_trap_halfway_leaves_no_gap(site: VoucherSite) -> None:
    created = await site.batch(count=40)
    site.sim.trap_next(f"{USERS}/add", 1, message="action timed out", category=2)
    with pytest.raises(TemporaryError):
        await site.carry(created.id)
    assert len(site.users_of(created.id)) == 39
    await site.carry(created.id)
    batch, vouchers = await site.load(created.id)
    assert batch.status == BatchStatus.SYNCED
    assert_exact(site, created.id, vouchers)


async def test_profile_the_router_lacks_is_a_batch_error_in_the_routers_words(
    site: VoucherSite,
) -> None:
    created = await site.batch(package_id=None, profile_name="no-such-profile", count=5)
    with pytest.raises(PermanentError):
        await site.carry(created.id)
    batch, _ = await site.load(created.id)
    assert batch.status == BatchStatus.ERROR
    assert "no-such-profile" in (batch.error_message or "")
    assert site.users_of(created.id) == []


async def test_code_taken_by_a_foreign_user_is_regenerated(site: VoucherSite) -> None:
    created = await site.batch(count=10)
    _, vouchers = await site.load(created.id)
    taken = vouchers[3].code
    site.sim.add_row(USERS, {"name": taken, "password": "x", "comment": "the owner's own"})
    result = await site.carry(created.id)
    assert result.regenerated == 1
    batch, vouchers = await site.load(created.id)
    assert batch.status == BatchStatus.SYNCED
    assert vouchers[3].code != taken
    assert_exact(site, created.id, vouchers)
    foreign = [r for r in site.sim.rows(USERS) if r["name"] == taken]
    assert foreign and foreign[0]["comment"] == "the owner's own"


async def test_deleted_batch_removes_exactly_its_own_users(site: VoucherSite) -> None:
    from mikrosync.vouchers import service

    doomed = await site.batch(count=25)
    kept = await site.batch(count=15)
    await site.carry(doomed.id)
    await site.carry(kept.id)
    site.sim.add_row(USERS, {"name": "walk-in", "password": "x"})
    assert site.runtime is not None
    async with site.runtime.sessionmaker() as session:
        await service.delete_batch(
            session, tenant_id=site.router_tenant, batch_id=doomed.id, actor="test"
        )
    result = await site.carry(doomed.id)
    assert result.removed == 25
    assert site.users_of(doomed.id) == []
    assert len(site.users_of(kept.id)) == 15
    assert any(r["name"] == "walk-in" for r in site.sim.rows(USERS))
    batch, vouchers = await site.load(doomed.id)
    assert batch.status == BatchStatus.DELETED and batch.on_router == 0
    assert {v.state for v in vouchers} == {VoucherState.REMOVED}


async def test_reconciliation_knows_vouchers(site: VoucherSite) -> None:
    """Tagged vouchers are neither unmanaged logins nor orphans to delete."""
    from mikrosync.sync.reconcile import reconcile_router

    created = await site.batch(count=12)
    await site.carry(created.id)
    assert site.deps is not None
    outcome = await reconcile_router(site.deps, site.router["id"], dry_run=False)
    assert outcome.counts["orphan"] == 0 and outcome.counts["unmanaged"] == 0
    assert len(site.users_of(created.id)) == 12
    tag = parse_tag(site.users_of(created.id)[0]["comment"])
    assert tag is not None and tag.role == "v"


async def test_worker_killed_halfway_leaves_no_duplicate(site: VoucherSite) -> None:
    """The job's task dies mid-batch (as with a killed worker: adds in flight, confirmations
    not committed); the next run adopts what reached the router and adds the rest."""
    created = await site.batch(count=1600)
    task = asyncio.create_task(site.carry(created.id))
    # Cancelled when the 401st add arrives: halfway whatever the machine's speed.
    site.sim.on_command(task.cancel, after=400, path=f"{USERS}/add")
    with pytest.raises(asyncio.CancelledError):
        await task
    recorded = await site.on_router(created.id)
    on_router = len(site.users_of(created.id))
    assert recorded <= on_router < 1600, (recorded, on_router)
    result = await site.carry(created.id)
    assert result.adopted == on_router - recorded
    batch, vouchers = await site.load(created.id)
    assert batch.status == BatchStatus.SYNCED and batch.on_router == 1600
    assert_exact(site, created.id, vouchers)
