"""`syncVoucherBatch`: carry one batch's intent to its router, in bulk, resumably.

Who calls it: the worker (`jobs` composition root), with the sync dependencies; the job is
deduplicated per batch, so one run at a time owns a batch's router objects.

Every run is level-triggered and idempotent:

1. read what the router already holds of THIS batch, by its tag range (one print): a run that
   died halfway (worker killed, router stopped, connection lost) left users that are adopted
   here, never added twice, and never left unowned;
2. add the missing users pipelined over one session (`pipeline.py`), in chunks; each chunk's
   confirmations are committed at once, so the batch shows "N of M on the router" as it goes
   and a crash loses at most one chunk of bookkeeping (re-adopted by the next run's read);
3. a code that collides with a router user that is not this voucher's (a subscriber, a
   hand-made user, another system's) gets a fresh code and is added in the next round;
4. vouchers owed a removal (expired; or the whole batch, deleted) are removed by `.id` after
   the same read, so a deleted batch removes exactly the users carrying its tag.

Transient failures (router offline, timeout, interrupted) leave the rest pending and raise
`TemporaryError` (the queue retries with backoff; the voucher scan re-pushes stale batches).
A refusal that retrying cannot heal (the profile does not exist, an invalid value) puts the
batch in `error` with the router's own words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.db.session import SessionMaker
from mikrosync.packages.models import Package
from mikrosync.routeros import (
    HotspotProfile,
    OwnerTag,
    PermanentRouterError,
    RouterClient,
    RouterOSError,
    TransientRouterError,
)
from mikrosync.routeros.connection import Connection
from mikrosync.routeros.errors import PermanentTrap, trap_error
from mikrosync.routeros.tags import parse_tag, tag_prefix
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.sync.errors import PermanentError, TemporaryError
from mikrosync.vouchers.models import BatchStatus, Voucher, VoucherBatch, VoucherState
from mikrosync.vouchers.pipeline import Command, run_pipelined
from mikrosync.vouchers.service import add_event, unused_codes

USER_PATH = "/ip/hotspot/user"
# Adds per pipelined chunk: its confirmations are committed together (the progress step).
CHUNK = 200
MIN_CHUNK = 25
REMOVE_CHUNK = 200
MIN_CHUNK = 25
# Rounds of "add, regenerate the codes that collided, add again".
ROUNDS = 3


class CarryDeps(Protocol):
    """What the job needs (the sync layer's dependencies satisfy it)."""

    @property
    def sessionmaker(self) -> SessionMaker: ...

    @property
    def vault(self) -> Vault: ...

    def client(self, router: Router) -> RouterClient: ...

    def mark_down(self, router_id: int) -> None: ...

    def mark_up(self, router_id: int) -> None: ...


@dataclass
class CarryResult:
    added: int = 0
    adopted: int = 0
    removed: int = 0
    regenerated: int = 0
    pending: int = 0
    status: str = ""
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "adopted": self.adopted,
            "removed": self.removed,
            "regenerated": self.regenerated,
            "pending": self.pending,
            "status": self.status,
        }


def batch_tag_range(tenant_id: int, batch_id: int) -> tuple[str, str]:
    """Query words selecting exactly the users tagged for one batch (see routeros/tags.py)."""
    start = f"{tag_prefix(tenant_id)}v={batch_id}-"
    return (f"?>comment={start}", f"?<comment={start[:-1]}.")


def voucher_id_of(comment: str, tenant_id: int, batch_id: int) -> int | None:
    """The voucher id in a batch user's comment; None if the comment is not that tag."""
    tag = parse_tag(comment)
    if tag is None or tag.role != "v" or tag.tenant_id != str(tenant_id):
        return None
    batch, _, voucher = tag.ref_id.partition("-")
    if batch != str(batch_id) or not voucher.isdigit():
        return None
    return int(voucher)


async def read_batch_users(
    client: RouterClient, tenant_id: int, batch_id: int
) -> dict[int, tuple[str, str]]:
    """The batch's users on the router: voucher id -> (`.id`, name). One print."""

    async def read(session: Connection) -> list[dict[str, str]]:
        words = ("=.proplist=.id,name,comment", *batch_tag_range(tenant_id, batch_id))
        return await session.run(f"{USER_PATH}/print", *words)

    found: dict[int, tuple[str, str]] = {}
    for row in await client.pool.run(read):
        voucher_id = voucher_id_of(row.get("comment", ""), tenant_id, batch_id)
        if voucher_id is not None:
            found[voucher_id] = (row.get(".id", ""), row.get("name", ""))
    return found


async def carry_batch(deps: CarryDeps, batch_id: int) -> CarryResult:
    """The job: bring the router in line with the batch's vouchers (see the module docs)."""
    async with deps.sessionmaker() as session:
        batch = await session.get(VoucherBatch, batch_id)
        router = await session.get(Router, batch.router_id) if batch is not None else None
        package = (
            await session.get(Package, batch.package_id)
            if batch is not None and batch.package_id is not None
            else None
        )
    if batch is None or router is None or batch.status == BatchStatus.DELETED:
        return CarryResult(status="gone")
    client = deps.client(router)
    try:
        if batch.status == BatchStatus.DELETING:
            result = await _remove_batch(deps, client, batch)
        else:
            await _ensure_profile(client, batch, package, router)
            result = await _converge(deps, client, batch)
    except TransientRouterError as exc:
        deps.mark_down(router.id)
        await _note(deps, batch.id, f"waiting for router {router.name}: {exc.message}")
        raise TemporaryError(exc.message) from exc
    except PermanentRouterError as exc:
        await _fail(deps, batch.id, exc.message)
        raise PermanentError(exc.message) from exc
    deps.mark_up(router.id)
    return result


async def _ensure_profile(
    client: RouterClient, batch: VoucherBatch, package: Package | None, router: Router
) -> None:
    """A package's profile is made (tagged as the package's); a named one must exist."""
    if package is not None:
        tag = OwnerTag.package(batch.tenant_id, package.id).render()
        await client.ensure_known(
            HotspotProfile(name=package.profile_name, rate_limit=package.rate_limit, comment=tag)
        )
        return
    if await client.find(HotspotProfile, batch.profile_name) is None:
        raise PermanentTrap(
            f"input does not match any value of profile: the router {router.name} has no "
            f"hotspot user profile {batch.profile_name!r}",
            category=None,
            command=f"{USER_PATH}/add",
        )


# -- adding -----------------------------------------------------------------------------------


def _add_command(batch: VoucherBatch, voucher: Voucher, password: str) -> Command:
    tag = OwnerTag.voucher(batch.tenant_id, batch.id, voucher.id).render()
    words = [
        f"=name={voucher.code}",
        f"=password={password}",
        f"=profile={batch.profile_name}",
        f"=comment={tag}",
    ]
    if batch.limit_uptime:
        words.append(f"=limit-uptime={batch.limit_uptime}")
    if batch.limit_bytes_total:
        words.append(f"=limit-bytes-total={batch.limit_bytes_total}")
    return Command(f"{USER_PATH}/add", tuple(words))


async def _pending(deps: CarryDeps, batch_id: int) -> list[Voucher]:
    async with deps.sessionmaker() as session:
        query = (
            select(Voucher)
            .where(Voucher.batch_id == batch_id, Voucher.synced_version < Voucher.desired_version)
            .order_by(Voucher.id)
        )
        return list((await session.scalars(query)).all())


async def _converge(deps: CarryDeps, client: RouterClient, batch: VoucherBatch) -> CarryResult:
    result = CarryResult()
    for _ in range(ROUNDS):
        pending = await _pending(deps, batch.id)
        if not pending:
            break
        on_router = await read_batch_users(client, batch.tenant_id, batch.id)
        adopted = [v for v in pending if v.wants_router and v.id in on_router]
        to_add = [v for v in pending if v.wants_router and v.id not in on_router]
        to_remove = [v for v in pending if not v.wants_router]
        await _confirm(
            deps, batch, {v.id: (v.desired_version, on_router[v.id][0]) for v in adopted}
        )
        result.adopted += len(adopted)
        await _remove_vouchers(deps, client, batch, to_remove, on_router, result)
        collided = await _add_all(deps, client, batch, to_add, result)
        if not collided:
            break
        result.regenerated += await _regenerate(deps, batch, collided)
    result.pending = len(await _pending(deps, batch.id))
    await _settle(deps, batch.id, result)
    return result


async def _add_all(
    deps: CarryDeps,
    client: RouterClient,
    batch: VoucherBatch,
    vouchers: Sequence[Voucher],
    result: CarryResult,
) -> list[Voucher]:
    """Add in pipelined chunks, several at once (one per pool session: the pool's bound keeps
    the router's session limit), each chunk committed as it completes; returns the vouchers
    whose code collided with a user that is not theirs. A failed chunk does not stop the
    others; their confirmations are kept, then the failure is raised (a permanent one first)."""
    collided: list[Voucher] = []
    # Enough chunks to use every session the pool may open, none larger than CHUNK (the
    # progress step), none tiny (each costs a commit).
    sessions = max(1, client.pool.config.max_sessions)
    size = min(CHUNK, max(MIN_CHUNK, -(-len(vouchers) // sessions)))
    chunks = [vouchers[start : start + size] for start in range(0, len(vouchers), size)]
    outcomes = await asyncio.gather(
        *(_add_chunk(deps, client, batch, chunk, result, collided) for chunk in chunks),
        return_exceptions=True,
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        permanent = [f for f in failures if isinstance(f, PermanentRouterError)]
        raise (permanent or failures)[0]
    return collided


async def _add_chunk(
    deps: CarryDeps,
    client: RouterClient,
    batch: VoucherBatch,
    chunk: Sequence[Voucher],
    result: CarryResult,
    collided: list[Voucher],
) -> None:
    commands = [_add_command(batch, v, deps.vault.decrypt(v.password_encrypted)) for v in chunk]
    async with client.pool.connection() as session:
        outcomes = await run_pipelined(session, commands)
    confirmed: dict[int, tuple[int, str]] = {}
    refused: RouterOSError | None = None
    for voucher, outcome in zip(chunk, outcomes, strict=True):
        if outcome.ok:
            confirmed[voucher.id] = (voucher.desired_version, outcome.ret)
        elif "already" in (outcome.trap or ""):
            collided.append(voucher)
        else:
            refused = refused or trap_error(
                outcome.trap or "", outcome.category, f"{USER_PATH}/add"
            )
    await _confirm(deps, batch, confirmed)
    result.added += len(confirmed)
    if refused is not None:
        raise refused


async def _regenerate(deps: CarryDeps, batch: VoucherBatch, collided: Sequence[Voucher]) -> int:
    """New codes for vouchers whose code some other router user already has."""
    async with deps.sessionmaker() as session:
        codes = await unused_codes(
            session,
            batch.router_id,
            len(collided),
            alphabet=batch.alphabet,
            length=batch.code_length,
            prefix=batch.prefix,
        )
        for voucher, code in zip(collided, codes, strict=True):
            row = await session.get(Voucher, voucher.id)
            if row is None:
                continue
            message = f"code {row.code} is taken on the router by another user; now {code}"
            row.code = code
            if batch.password_mode == "same":
                row.password_encrypted = deps.vault.encrypt(code)
            row.updated_at = now()
            add_event(session, row, "regenerated", message, None)
        await session.commit()
    return len(collided)


async def _confirm(
    deps: CarryDeps, batch: VoucherBatch, confirmed: dict[int, tuple[int, str]]
) -> None:
    """Record vouchers now on the router (compare-and-set on the version carried) and the
    batch's counter, in one transaction."""
    if not confirmed:
        return
    table = cast(Table, Voucher.__table__)
    # One statement, executed for many rows (executemany): a chunk is one round trip.
    statement = (
        update(table)
        .where(table.c.id == bindparam("vid"), table.c.desired_version == bindparam("ver"))
        .values(synced_version=bindparam("ver"), router_item_id=bindparam("item"))
        .values(sync_error_message=None)
    )
    rows = [
        {"vid": voucher_id, "ver": version, "item": item_id}
        for voucher_id, (version, item_id) in confirmed.items()
    ]
    async with deps.sessionmaker() as session:
        await session.execute(statement, rows)
        await _count_on_router(session, batch.id)
        await session.commit()


async def _count_on_router(session: AsyncSession, batch_id: int) -> None:
    """Recount the batch's users on the router. The batch row is locked first: chunks commit
    concurrently, and under READ COMMITTED a count taken before another chunk's commit would
    overwrite that chunk's progress (the lock makes the count's snapshot come after it)."""
    await session.execute(
        select(VoucherBatch.id).where(VoucherBatch.id == batch_id).with_for_update()
    )
    count = select(func.count()).where(
        Voucher.batch_id == batch_id,
        Voucher.router_item_id.is_not(None),
        Voucher.state != VoucherState.REMOVED,
    )
    on_router = (await session.execute(count)).scalar_one()
    await session.execute(
        update(VoucherBatch).where(VoucherBatch.id == batch_id).values(on_router=on_router)
    )


# -- removing ---------------------------------------------------------------------------------


async def remove_ids(client: RouterClient, ids: Sequence[str]) -> None:
    """Remove users by `.id`, many per command. One already gone (removed meanwhile by the
    voucher scan, or by hand) fails its whole command, so that chunk is retried id by id,
    skipping the missing ones."""
    for start in range(0, len(ids), REMOVE_CHUNK):
        part = list(ids[start : start + REMOVE_CHUNK])
        try:
            await _remove(client, ",".join(part))
        except PermanentTrap as trap:
            if "no such item" not in trap.message:
                raise
            for item_id in part:
                with suppress(PermanentTrap):
                    await _remove(client, item_id)


async def _remove(client: RouterClient, ids: str) -> None:
    async def remove(session: Connection) -> None:
        await session.run(f"{USER_PATH}/remove", f"=.id={ids}")

    client.write_log.append(f"{USER_PATH}/remove")
    await client.pool.run(remove)


async def _remove_vouchers(
    deps: CarryDeps,
    client: RouterClient,
    batch: VoucherBatch,
    vouchers: Sequence[Voucher],
    on_router: dict[int, tuple[str, str]],
    result: CarryResult,
) -> None:
    """Expired vouchers: remove their users (if still there), then mark them removed."""
    if not vouchers:
        return
    ids = [on_router[v.id][0] for v in vouchers if v.id in on_router]
    await remove_ids(client, ids)
    for voucher in vouchers:
        # RouterOS keeps a logged-in session after its user is removed: end it too.
        await client.kick("hotspot", voucher.code)
    result.removed += len(ids)
    async with deps.sessionmaker() as session:
        for voucher in vouchers:
            await session.execute(
                update(Voucher)
                .where(Voucher.id == voucher.id, Voucher.desired_version == voucher.desired_version)
                .values(
                    synced_version=voucher.desired_version,
                    state=VoucherState.REMOVED,
                    router_item_id=None,
                    updated_at=now(),
                )
            )
            add_event(session, voucher, "removed", "removed from the router", None)
        await _count_on_router(session, batch.id)
        await session.commit()


async def _remove_batch(deps: CarryDeps, client: RouterClient, batch: VoucherBatch) -> CarryResult:
    """A deleted batch: remove every user carrying its tag (and only those), then check."""
    on_router = await read_batch_users(client, batch.tenant_id, batch.id)
    await remove_ids(client, [item_id for item_id, _ in on_router.values()])
    left = await read_batch_users(client, batch.tenant_id, batch.id)
    if left:
        raise TransientRouterError(f"{len(left)} user(s) of the batch are still on the router")
    async with deps.sessionmaker() as session:
        await session.execute(
            update(Voucher)
            .where(Voucher.batch_id == batch.id)
            .values(
                state=VoucherState.REMOVED,
                router_item_id=None,
                synced_version=Voucher.desired_version,
                updated_at=now(),
            )
        )
        await session.execute(
            update(VoucherBatch)
            .where(VoucherBatch.id == batch.id)
            .values(status=BatchStatus.DELETED, on_router=0, error_message=None, synced_at=now())
        )
        await session.commit()
    return CarryResult(removed=len(on_router), status=BatchStatus.DELETED)


# -- batch status -----------------------------------------------------------------------------


async def _settle(deps: CarryDeps, batch_id: int, result: CarryResult) -> None:
    async with deps.sessionmaker() as session:
        batch = await session.get(VoucherBatch, batch_id)
        if batch is None or batch.status in (BatchStatus.DELETING, BatchStatus.DELETED):
            return
        if result.pending:
            batch.status = BatchStatus.ERROR
            batch.error_message = (
                f"{result.pending} voucher(s) could not be added: their codes kept colliding "
                "with other users of the router"
            )
        else:
            batch.status = BatchStatus.SYNCED
            batch.error_message = None
            batch.synced_at = now()
        result.status = batch.status
        await session.commit()


async def _note(deps: CarryDeps, batch_id: int, message: str) -> None:
    """A transient failure: the batch stays pending, with why it waits."""
    async with deps.sessionmaker() as session:
        await session.execute(
            update(VoucherBatch)
            .where(VoucherBatch.id == batch_id, VoucherBatch.status != BatchStatus.DELETED)
            .values(error_message=message)
        )
        await session.commit()


async def _fail(deps: CarryDeps, batch_id: int, message: str) -> None:
    async with deps.sessionmaker() as session:
        batch = await session.get(VoucherBatch, batch_id)
        if batch is not None and batch.status != BatchStatus.DELETED:
            if batch.status != BatchStatus.DELETING:
                batch.status = BatchStatus.ERROR
            batch.error_message = message
            await session.commit()
