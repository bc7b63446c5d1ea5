"""The life of a voucher on its router: unused -> active -> expired -> removed.

Who calls it: the worker's periodic `scanVouchers` job. Per router that has live vouchers it
reads, in two prints, who is online (`/ip/hotspot/active`) and the tenant's voucher users with
their counters (uptime, bytes); then, in one transaction:

- an unused voucher that is online or has used time or bytes -> `active`, `first_login_at`
  stamped and, with a validity, `expires_at` = first login + validity;
- an active voucher past `expires_at`, or with its uptime or data limit used up -> `expired`,
  with a removal owed (`desired_version` bumped): the batch job removes its user and ends its
  session, so routers do not fill up with spent vouchers.

It also returns the batches whose hint went stale (pending or deleting, pushed long ago): the
outbox guarantee for batches, as `sync/sweep.py` gives it for subscribers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from mikrosync.clock import now
from mikrosync.routeros import RouterOSError
from mikrosync.routeros.connection import Connection
from mikrosync.routeros.tags import parse_tag, prefix_query, tag_prefix
from mikrosync.routers.models import Router
from mikrosync.vouchers.carry import USER_PATH, CarryDeps, remove_ids
from mikrosync.vouchers.models import BatchStatus, Voucher, VoucherBatch, VoucherState
from mikrosync.vouchers.service import add_event

_PART = re.compile(r"(\d+)([wdhms])")
_CLOCK = re.compile(r"(?:(\d+)d)?(\d+):(\d+):(\d+)")
_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_uptime(text: str | None) -> int:
    """RouterOS durations: `1w2d3h4m5s`, `0s`, or the older `1d02:03:04`."""
    if not text:
        return 0
    clock = _CLOCK.fullmatch(text)
    if clock is not None:
        days, hours, minutes, seconds = (int(part or 0) for part in clock.groups())
        return days * 86400 + hours * 3600 + minutes * 60 + seconds
    return sum(int(count) * _SECONDS[unit] for count, unit in _PART.findall(text))


@dataclass(frozen=True)
class Usage:
    """What the router says of one voucher user."""

    uptime_s: int
    bytes_total: int
    online: bool

    @property
    def used(self) -> bool:
        return self.online or self.uptime_s > 0 or self.bytes_total > 0


@dataclass(frozen=True)
class Change:
    voucher_id: int
    state: VoucherState
    message: str


def judge(
    voucher: Voucher, batch: VoucherBatch, usage: Usage | None, moment: datetime
) -> Change | None:
    """The state change a voucher is owed, if any (pure)."""
    if voucher.state == VoucherState.UNUSED:
        if usage is None or not usage.used:
            return None
        return Change(voucher.id, VoucherState.ACTIVE, "first login seen")
    if voucher.state != VoucherState.ACTIVE:
        return None
    if voucher.expires_at is not None and voucher.expires_at <= moment:
        return Change(voucher.id, VoucherState.EXPIRED, "validity passed")
    if usage is None:
        return None
    limit_uptime = parse_uptime(batch.limit_uptime) if batch.limit_uptime else 0
    if limit_uptime and usage.uptime_s >= limit_uptime:
        return Change(voucher.id, VoucherState.EXPIRED, "uptime limit used up")
    if batch.limit_bytes_total and usage.bytes_total >= batch.limit_bytes_total:
        return Change(voucher.id, VoucherState.EXPIRED, "data limit used up")
    return None


@dataclass
class RouterVouchers:
    """The tenant's voucher users on one router: usage per code, `.id` per voucher id."""

    usage: dict[str, Usage]
    items: dict[int, str]


async def read_usage(deps: CarryDeps, router: Router) -> RouterVouchers:
    """The tenant's voucher users on this router and who is online (two prints, one session)."""
    client = deps.client(router)

    async def read(session: Connection) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        words = prefix_query("comment", f"{tag_prefix(router.tenant_id)}")
        users = await session.run(
            f"{USER_PATH}/print", "=.proplist=.id,name,comment,uptime,bytes-in,bytes-out", *words
        )
        active = await session.run("/ip/hotspot/active/print", "=.proplist=user,bytes-in,bytes-out")
        return users, active

    users, active = await client.pool.run(read)
    online = {row.get("user", ""): row for row in active}
    usage: dict[str, Usage] = {}
    items: dict[int, str] = {}
    for row in users:
        tag = parse_tag(row.get("comment"))
        if tag is None or tag.role != "v":
            continue
        voucher = tag.ref_id.partition("-")[2]
        if voucher.isdigit():
            items[int(voucher)] = row.get(".id", "")
        name = row.get("name", "")
        session_row = online.get(name, {})
        total = sum(
            int(source.get(key, "0") or 0)
            for source in (row, session_row)
            for key in ("bytes-in", "bytes-out")
            if (source.get(key, "0") or "0").isdigit()
        )
        usage[name] = Usage(parse_uptime(row.get("uptime")), total, name in online)
    return RouterVouchers(usage, items)


async def remove_orphans(deps: CarryDeps, router: Router, items: dict[int, str]) -> int:
    """Remove voucher users whose voucher the database no longer has (or has as removed): left
    by a batch whose rows are gone, or re-added by hand. Users of live vouchers, pending ones
    included, are never touched: their rows exist from the moment the batch was recorded."""
    if not items:
        return 0
    alive: set[int] = set()
    ids = sorted(items)
    async with deps.sessionmaker() as session:
        for start in range(0, len(ids), 500):
            query = select(Voucher.id).where(
                Voucher.id.in_(ids[start : start + 500]),
                Voucher.router_id == router.id,
                Voucher.state != VoucherState.REMOVED,
            )
            alive.update((await session.scalars(query)).all())
    orphans = [items[i] for i in ids if i not in alive and items[i]]
    if orphans:
        await remove_ids(deps.client(router), orphans)
    return len(orphans)


async def scan_router(deps: CarryDeps, router: Router) -> list[int]:
    """Follow the live vouchers of one router; returns the batches owed a run."""
    async with deps.sessionmaker() as session:
        query = (
            select(Voucher, VoucherBatch)
            .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
            .where(
                Voucher.router_id == router.id,
                Voucher.state.in_((VoucherState.UNUSED, VoucherState.ACTIVE)),
                Voucher.router_item_id.is_not(None),
                VoucherBatch.status.in_((BatchStatus.SYNCED, BatchStatus.PENDING)),
            )
        )
        rows = (await session.execute(query)).all()
    found = await read_usage(deps, router)
    await remove_orphans(deps, router, found.items)
    moment = now()
    changes = [
        (voucher, batch, change)
        for voucher, batch in rows
        if (change := judge(voucher, batch, found.usage.get(voucher.code), moment)) is not None
    ]
    return await _record(deps, changes, moment)


async def _record(
    deps: CarryDeps, changes: Sequence[tuple[Voucher, VoucherBatch, Change]], moment: datetime
) -> list[int]:
    owed: set[int] = set()
    async with deps.sessionmaker() as session:
        for voucher, batch, change in changes:
            values: dict[str, object] = {"state": change.state, "updated_at": moment}
            if change.state == VoucherState.ACTIVE:
                values["first_login_at"] = moment
                if batch.validity_minutes:
                    values["expires_at"] = moment + timedelta(minutes=batch.validity_minutes)
            else:
                values["desired_version"] = Voucher.desired_version + 1
                owed.add(batch.id)
            await session.execute(
                update(Voucher)
                .where(Voucher.id == voucher.id, Voucher.state == voucher.state)
                .values(**values)
            )
            add_event(session, voucher, change.state.value, change.message, None)
        if owed:
            await session.execute(
                update(VoucherBatch)
                .where(VoucherBatch.id.in_(owed), VoucherBatch.status == BatchStatus.SYNCED)
                .values(status=BatchStatus.PENDING, last_enqueued_at=moment)
            )
        await session.commit()
    return sorted(owed)


async def scan_all(deps: CarryDeps) -> tuple[list[int], dict[int, str]]:
    """Scan every router with live vouchers; (batches owed a run, router id -> error)."""
    async with deps.sessionmaker() as session:
        ids = select(Voucher.router_id).where(
            Voucher.state.in_((VoucherState.UNUSED, VoucherState.ACTIVE)),
            Voucher.router_item_id.is_not(None),
        )  # routers with live vouchers; their leftover voucher users are swept too
        routers = (await session.scalars(select(Router).where(Router.id.in_(ids)))).all()
    owed: list[int] = []
    errors: dict[int, str] = {}
    for router in routers:
        try:
            owed.extend(await scan_router(deps, router))
        except RouterOSError as exc:  # an offline router is scanned again next time
            errors[router.id] = exc.message
    return owed, errors


async def stale_batches(deps: CarryDeps, stale_after_s: float) -> list[int]:
    """Batches still owed a run whose last push is older than `stale_after_s`; re-stamped."""
    cutoff = now() - timedelta(seconds=stale_after_s)
    async with deps.sessionmaker() as session:
        query = select(VoucherBatch.id).where(
            VoucherBatch.status.in_((BatchStatus.PENDING, BatchStatus.DELETING)),
            (VoucherBatch.last_enqueued_at.is_(None)) | (VoucherBatch.last_enqueued_at < cutoff),
        )
        ids = list((await session.scalars(query)).all())
        if ids:
            await session.execute(
                update(VoucherBatch).where(VoucherBatch.id.in_(ids)).values(last_enqueued_at=now())
            )
            await session.commit()
    return ids


async def owed_batches(deps: CarryDeps, router_ids: Sequence[int]) -> list[int]:
    """Batches of these routers still owed a run (pending or deleting)."""
    async with deps.sessionmaker() as session:
        query = select(VoucherBatch.id).where(
            VoucherBatch.router_id.in_(router_ids),
            VoucherBatch.status.in_((BatchStatus.PENDING, BatchStatus.DELETING)),
        )
        return list((await session.scalars(query)).all())


def progress_text(batch: VoucherBatch, counts: Mapping[str, int] | None = None) -> str:
    """ "N of M on the router" (what the console and the CLI show)."""
    live = batch.count
    if counts is not None:
        live = batch.count - counts.get(VoucherState.REMOVED, 0)
    return f"{batch.on_router} of {live} on the router"
