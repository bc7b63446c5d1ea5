"""Voucher batches and vouchers: intent only. Nothing here talks to a router or to Redis.

Creating a batch writes the batch and every voucher in ONE transaction (the intent); the caller
then pushes `syncVoucherBatch`, and the voucher scan re-pushes any batch whose hint went stale,
so a lost push delays a batch but never loses it. Deleting a batch marks it `deleting`; the
job removes exactly its own users from the router, then marks it `deleted` (rows kept, so sales
history stays).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput, NotFound, StateConflict, UnknownReference
from mikrosync.http.fields import refuse_nul
from mikrosync.packages.models import Package, Service
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.subscribers.models import Subscriber
from mikrosync.vouchers.codes import check_alphabet, check_space, draw, draw_unique
from mikrosync.vouchers.models import (
    BatchStatus,
    PasswordMode,
    Voucher,
    VoucherBatch,
    VoucherEvent,
    VoucherState,
)
from mikrosync.vouchers.schemas import VoucherBatchCreate

# Rows per INSERT / IN (...) round: well under SQLite's and asyncpg's parameter limits.
CHUNK = 500
LIVE_BATCH = (BatchStatus.PENDING, BatchStatus.SYNCED, BatchStatus.ERROR)


async def _router(session: AsyncSession, tenant_id: int, router_id: int) -> Router:
    router = await session.get(Router, router_id)
    if router is None or router.tenant_id != tenant_id:
        raise UnknownReference("router_id", "no such router")
    return router


async def _profile(
    session: AsyncSession, tenant_id: int, data: VoucherBatchCreate
) -> tuple[str, Package | None]:
    if data.package_id is None:
        if data.profile_name is None:
            raise InvalidInput(
                "profile_name", "choose a hotspot package, or name a hotspot profile of the router"
            )
        return data.profile_name, None
    package = await session.get(Package, data.package_id)
    if package is None or package.tenant_id != tenant_id:
        raise UnknownReference("package_id", "no such package")
    if package.service != Service.HOTSPOT:
        raise StateConflict(
            "package_id", f"package {package.name!r} is a {package.service} package, not hotspot"
        )
    return package.profile_name, package


async def taken_names(session: AsyncSession, router_id: int, names: Sequence[str]) -> set[str]:
    """Which of `names` are already a voucher code or a subscriber's login on this router."""
    found: set[str] = set()
    for start in range(0, len(names), CHUNK):
        part = list(names[start : start + CHUNK])
        codes = select(Voucher.code).where(Voucher.router_id == router_id, Voucher.code.in_(part))
        logins = select(Subscriber.username).where(
            Subscriber.router_id == router_id, Subscriber.username.in_(part)
        )
        found.update((await session.scalars(codes)).all())
        found.update((await session.scalars(logins)).all())
    return found


async def unused_codes(
    session: AsyncSession, router_id: int, count: int, *, alphabet: str, length: int, prefix: str
) -> list[str]:
    """`count` fresh codes not used on this router (drawn, checked, redrawn where taken)."""
    codes = draw_unique(count, alphabet=alphabet, length=length, prefix=prefix)
    for _ in range(20):
        clash = await taken_names(session, router_id, codes)
        if not clash:
            return codes
        keep = [code for code in codes if code not in clash]
        extra = draw_unique(
            len(codes) - len(keep),
            alphabet=alphabet,
            length=length,
            prefix=prefix,
            taken=set(keep) | clash,
        )
        codes = keep + extra
    raise StateConflict("code_length", "could not draw enough unused codes: make them longer")


async def create_batch(
    session: AsyncSession, vault: Vault, *, tenant_id: int, data: VoucherBatchCreate, actor: str
) -> VoucherBatch:
    """Record a batch and all its vouchers as intent, in one transaction."""
    router = await _router(session, tenant_id, data.router_id)
    profile_name, package = await _profile(session, tenant_id, data)
    alphabet = check_alphabet(data.alphabet)
    check_space(count=data.count, code_length=data.code_length, alphabet=alphabet)
    price = data.price if data.price is not None else (package.price if package else Decimal(0))
    moment = now()
    batch = VoucherBatch(
        tenant_id=tenant_id,
        router_id=router.id,
        package_id=package.id if package else None,
        profile_name=profile_name,
        count=data.count,
        code_length=data.code_length,
        alphabet=alphabet,
        prefix=data.prefix,
        password_mode=data.password_mode,
        price=price,
        validity_minutes=data.validity_minutes,
        limit_uptime=data.limit_uptime,
        limit_bytes_total=data.limit_bytes_total,
        comment=data.comment,
        login_url=data.login_url,
        status=BatchStatus.PENDING,
        on_router=0,
        last_enqueued_at=moment,
        created_by=actor,
    )
    session.add(batch)
    await session.flush()
    codes = await unused_codes(
        session,
        router.id,
        data.count,
        alphabet=alphabet,
        length=data.code_length,
        prefix=data.prefix,
    )
    await _insert_vouchers(session, vault, batch, codes, moment)
    await session.commit()
    return batch


def voucher_password(batch: VoucherBatch, code: str) -> str:
    if batch.password_mode == PasswordMode.SAME:
        return code
    return draw(batch.alphabet, batch.code_length)


async def _insert_vouchers(
    session: AsyncSession, vault: Vault, batch: VoucherBatch, codes: Sequence[str], at: datetime
) -> None:
    for start in range(0, len(codes), CHUNK):
        rows = [
            {
                "tenant_id": batch.tenant_id,
                "batch_id": batch.id,
                "router_id": batch.router_id,
                "code": code,
                "password_encrypted": vault.encrypt(voucher_password(batch, code)),
                "state": VoucherState.UNUSED,
                "sold": False,
                "desired_version": 1,
                "synced_version": 0,
                "created_at": at,
                "updated_at": at,
            }
            for code in codes[start : start + CHUNK]
        ]
        await session.execute(insert(Voucher), rows)


# -- reading ----------------------------------------------------------------------------------


async def get_batch(session: AsyncSession, *, tenant_id: int, batch_id: int) -> VoucherBatch:
    batch = await session.get(VoucherBatch, batch_id)
    if batch is None or batch.tenant_id != tenant_id:
        raise NotFound("voucher batch not found")
    return batch


async def list_batches(
    session: AsyncSession, *, tenant_id: int, include_deleted: bool = False, limit: int = 200
) -> Sequence[VoucherBatch]:
    query = select(VoucherBatch).where(VoucherBatch.tenant_id == tenant_id)
    if not include_deleted:
        query = query.where(VoucherBatch.status != BatchStatus.DELETED)
    return (await session.scalars(query.order_by(VoucherBatch.id.desc()).limit(limit))).all()


async def list_vouchers(
    session: AsyncSession,
    *,
    tenant_id: int,
    batch_id: int,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[Voucher]:
    query = (
        select(Voucher)
        .where(Voucher.tenant_id == tenant_id, Voucher.batch_id == batch_id)
        .order_by(Voucher.id)
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return (await session.scalars(query)).all()


@dataclass(frozen=True)
class PrintedVoucher:
    """What a sheet or an export shows of one voucher (its password in clear: it is sold)."""

    id: int
    code: str
    password: str
    state: str
    sold: bool


async def iter_printable(
    session: AsyncSession, vault: Vault, *, tenant_id: int, batch_id: int
) -> AsyncIterator[PrintedVoucher]:
    """The batch's vouchers in order, decrypted chunk by chunk (flat memory for 10,000)."""
    last = 0
    while True:
        query = (
            select(Voucher)
            .where(Voucher.tenant_id == tenant_id, Voucher.batch_id == batch_id, Voucher.id > last)
            .order_by(Voucher.id)
            .limit(CHUNK)
        )
        rows = (await session.scalars(query)).all()
        if not rows:
            return
        for row in rows:
            password = vault.decrypt(row.password_encrypted)
            yield PrintedVoucher(row.id, row.code, password, row.state, row.sold)
        last = rows[-1].id
        session.expunge_all()


async def search_vouchers(
    session: AsyncSession, *, tenant_id: int, code: str, limit: int = 50
) -> Sequence[Voucher]:
    """Vouchers whose code contains `code` (case-insensitive), newest first."""
    needle = code.strip()
    if not needle:
        raise InvalidInput("code", "give part of a voucher code to search for")
    refuse_nul("code", needle)
    query = (
        select(Voucher)
        .where(
            Voucher.tenant_id == tenant_id,
            func.upper(Voucher.code).contains(needle.upper(), autoescape=True),
        )
        .order_by(Voucher.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def get_voucher(session: AsyncSession, *, tenant_id: int, voucher_id: int) -> Voucher:
    voucher = await session.get(Voucher, voucher_id)
    if voucher is None or voucher.tenant_id != tenant_id:
        raise NotFound("voucher not found")
    return voucher


async def voucher_events(
    session: AsyncSession, *, tenant_id: int, voucher_id: int
) -> Sequence[VoucherEvent]:
    query = (
        select(VoucherEvent)
        .where(VoucherEvent.tenant_id == tenant_id, VoucherEvent.voucher_id == voucher_id)
        .order_by(VoucherEvent.created_at, VoucherEvent.id)
    )
    return (await session.scalars(query)).all()


def add_event(
    session: AsyncSession, voucher: Voucher, what: str, message: str | None, actor: str | None
) -> None:
    session.add(
        VoucherEvent(
            tenant_id=voucher.tenant_id,
            voucher_id=voucher.id,
            what=what,
            message=message,
            actor=actor,
            created_at=now(),
        )
    )


# -- changing ---------------------------------------------------------------------------------


async def set_sold(
    session: AsyncSession, *, tenant_id: int, voucher_id: int, sold: bool, actor: str
) -> Voucher:
    voucher = await get_voucher(session, tenant_id=tenant_id, voucher_id=voucher_id)
    if voucher.sold != sold:
        voucher.sold = sold
        voucher.sold_at = now() if sold else None
        voucher.updated_at = now()
        add_event(session, voucher, "sold" if sold else "unsold", None, actor)
    await session.commit()
    return voucher


async def delete_batch(
    session: AsyncSession, *, tenant_id: int, batch_id: int, actor: str
) -> VoucherBatch:
    """Mark the batch for removal from the router; the job removes its users, then the batch
    shows as deleted. Deleting twice is harmless."""
    batch = await get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    if batch.status == BatchStatus.DELETED:
        raise Conflict("this batch is already deleted")
    batch.status = BatchStatus.DELETING
    batch.error_message = None
    batch.last_enqueued_at = now()
    batch.created_by = batch.created_by or actor
    await session.execute(
        update(Voucher)
        .where(Voucher.batch_id == batch.id, Voucher.state != VoucherState.REMOVED)
        .values(desired_version=Voucher.desired_version + 1, updated_at=now())
    )
    await session.commit()
    return batch


async def retry_batch(session: AsyncSession, *, tenant_id: int, batch_id: int) -> VoucherBatch:
    """After an error (e.g. the profile was created on the router): carry the batch again."""
    batch = await get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    if batch.status == BatchStatus.ERROR:
        batch.status = BatchStatus.PENDING
        batch.error_message = None
    batch.last_enqueued_at = now()
    await session.commit()
    return batch


# -- sales ------------------------------------------------------------------------------------


async def sales_by_batch(
    session: AsyncSession, *, tenant_id: int, batch_ids: Sequence[int] | None = None
) -> dict[int, tuple[int, Decimal]]:
    """Per batch: vouchers sold and their total at the batch price."""
    query = (
        select(VoucherBatch.id, func.count(Voucher.id), VoucherBatch.price)
        .join(Voucher, Voucher.batch_id == VoucherBatch.id)
        .where(VoucherBatch.tenant_id == tenant_id, Voucher.sold.is_(True))
        .group_by(VoucherBatch.id, VoucherBatch.price)
    )
    if batch_ids is not None:
        query = query.where(VoucherBatch.id.in_(batch_ids))
    return {
        batch_id: (sold, Decimal(price) * sold)
        for batch_id, sold, price in (await session.execute(query)).all()
    }


async def sales_by_day(
    session: AsyncSession, *, tenant_id: int, days: int = 30
) -> list[tuple[str, int, Decimal]]:
    """Per UTC day of sale (newest first): vouchers sold and their total."""
    since = now() - timedelta(days=days)
    query = (
        select(Voucher.sold_at, VoucherBatch.price)
        .join(VoucherBatch, Voucher.batch_id == VoucherBatch.id)
        .where(Voucher.tenant_id == tenant_id, Voucher.sold.is_(True), Voucher.sold_at >= since)
    )
    totals: dict[str, tuple[int, Decimal]] = {}
    # Grouped here, not in SQL: a day of a timestamp is spelled differently on each backend.
    for sold_at, price in (await session.execute(query)).all():
        if sold_at is None:
            continue
        day = sold_at.date().isoformat()
        count, total = totals.get(day, (0, Decimal(0)))
        totals[day] = (count + 1, total + Decimal(price))
    return [(day, *totals[day]) for day in sorted(totals, reverse=True)]


async def batch_counts(session: AsyncSession, *, tenant_id: int, batch_id: int) -> dict[str, int]:
    """Vouchers of a batch per state."""
    query = (
        select(Voucher.state, func.count())
        .where(Voucher.tenant_id == tenant_id, Voucher.batch_id == batch_id)
        .group_by(Voucher.state)
    )
    counts = dict.fromkeys((s.value for s in VoucherState), 0)
    counts.update(dict((await session.execute(query)).all()))
    return counts
