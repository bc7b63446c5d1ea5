"""Typed, idempotent operations on one router: what the sync layer calls.

Who calls it: ``mikrosync.sync`` (converge, reconcile) and the CLI. It never decides *what*
a router should hold; it reads, and it makes one object match a desired record.

Every write-capable operation returns a ``WriteResult`` naming the write commands it issued,
so a caller can tell a no-op (``commands == ()``) from a change, and the client keeps a
cumulative ``write_log`` for the "second run writes nothing" tests.

Writes are safe to retry: ``ensure`` finds before it adds (or, with ``add_first``, adds and
falls back to finding), and adopts the object if an earlier add was applied but its reply lost
("ghost success"); removing an object that is already gone is a no-op.

``ensure_known`` skips even the find for an object this process made or saw exactly so on the
same router within ``KNOWN_FOR_S`` (per pool, so per router and process): what the converge
does with a package's profile, which every subscriber job of that package would otherwise
print. Any ``ensure`` of the object refreshes that memory, any failure drops it, ``forget``
drops it on request.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal

from mikrosync.routeros.connection import Connection
from mikrosync.routeros.errors import ForeignObject, PermanentTrap
from mikrosync.routeros.pool import RouterPool
from mikrosync.routeros.resources import (
    ACTIVE_NAME_FIELD,
    ACTIVE_PATHS,
    ActiveKind,
    LiveSession,
    R,
    Record,
    SystemResource,
    active_from_row,
    api_name,
    api_value,
    from_row,
    same_value,
)
from mikrosync.routeros.tags import OwnerTag, prefix_query, tag_prefix

Action = Literal["created", "updated", "unchanged", "removed", "absent"]
KNOWN_FOR_S = 300.0
"""How long ``ensure_known`` trusts its memory of an object before it looks again."""
Target = str | OwnerTag
"""An object's key (name, or address for address lists) or the owner tag of its objects."""


@dataclass(frozen=True)
class WriteResult:
    """What a write operation did; ``commands`` is empty for a no-op."""

    action: Action
    ids: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    changed_fields: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.commands)


def _words(fields: dict[str, object]) -> list[str]:
    return [f"={api_name(name)}={api_value(value)}" for name, value in fields.items()]


def _fingerprint(record: Record) -> tuple[tuple[str, object], ...]:
    return tuple(record.write_fields().items())


def _check_owner(existing: R, desired_owner: OwnerTag | None, take_over: bool) -> None:
    """Refuse to touch an object that is someone else's (DESIGN.md §1.6)."""
    if take_over:
        return
    owner = existing.owner
    if owner is None or (desired_owner is not None and owner != desired_owner):
        holder = f"owned by {owner}" if owner else "not tagged as mikrosync's"
        raise ForeignObject(f"{existing.PATH} {existing.key!r} is {holder}; not touching it")


class RouterClient:
    """Operations on one router through its pool (see ``registry.PoolRegistry.client``)."""

    def __init__(self, pool: RouterPool) -> None:
        self.pool = pool
        self.write_log: list[str] = []

    # -- system ---------------------------------------------------------------------------

    async def identity(self) -> str:
        rows = await self.pool.run(lambda s: s.run("/system/identity/print"))
        return rows[0].get("name", "") if rows else ""

    async def resource(self) -> SystemResource:
        rows = await self.pool.run(lambda s: s.run("/system/resource/print"))
        return SystemResource.from_row(rows[0] if rows else {})

    # -- reading managed objects -----------------------------------------------------------

    async def find(self, kind: type[R], key: str) -> R | None:
        """The object called ``key`` (an address for address lists), or ``None``."""
        found = await self.pool.run(lambda s: self._select(s, kind, kind.key_words(key)))
        return found[0] if found else None

    async def find_owned_by(self, kind: type[R], owner: OwnerTag) -> list[R]:
        """Objects whose comment is exactly this owner tag (usually zero or one)."""
        return await self.pool.run(lambda s: self._select(s, kind, self._owner_words(kind, owner)))

    async def iter_owned(
        self, kind: type[R], *, tenant_id: object = None
    ) -> AsyncGenerator[R, None]:
        """Every mikrosync-owned object of a kind (of one tenant), in ONE streamed print.

        Rows are parsed as they arrive, so memory stays flat for 50,000 secrets. The loop
        holds one pool connection: with ``max_sessions=1`` do not call other operations inside
        it. Stopping early is allowed (wrap in ``contextlib.aclosing`` so it happens at once);
        the half-read connection is then discarded rather than reused.
        """
        words = (
            f"=.proplist={kind.proplist()}",
            *kind.scope_words(),
            *prefix_query("comment", tag_prefix(tenant_id)),
        )
        async with self.pool.connection() as connection:
            async for row in connection.stream(f"{kind.PATH}/print", *words):
                record = from_row(kind, row)
                if record.owner is not None:
                    yield record

    async def list_owned(self, kind: type[R], *, tenant_id: object = None) -> list[R]:
        return [record async for record in self.iter_owned(kind, tenant_id=tenant_id)]

    # -- writing managed objects -----------------------------------------------------------

    async def ensure(
        self, desired: R, *, take_over: bool = False, add_first: bool = False
    ) -> WriteResult:
        """Create ``desired``, or update only the fields that differ. ``None`` = not managed.

        An existing object with the same key that is not tagged with the desired owner is
        refused (``ForeignObject``) unless ``take_over``. ``add_first`` is for an object that is
        most likely absent (a new subscriber's login): one ``add``, and only on "already
        exists" the find and the update path (ownership checked as always).
        """
        key = (desired.PATH, desired.key)
        try:
            result = await self.pool.run(lambda s: self._ensure(s, desired, take_over, add_first))
        except BaseException:
            self.pool.remembered_objects.pop(key, None)
            raise
        if key in self.pool.remembered_objects:
            self._remember(desired)
        return result

    async def ensure_known(self, desired: R) -> WriteResult:
        """``ensure``, skipped (no command) if this process made or saw exactly this object on
        this router within ``KNOWN_FOR_S``; remembered when it succeeds."""
        remembered = self.pool.remembered_objects.get((desired.PATH, desired.key))
        if remembered is not None:
            fields, until = remembered
            if fields == _fingerprint(desired) and until > time.monotonic():
                return WriteResult("unchanged")
        result = await self.ensure(desired)
        self._remember(desired)
        return result

    def knows(self, desired: Record) -> bool:
        """Would ``ensure_known(desired)`` skip the router?"""
        remembered = self.pool.remembered_objects.get((desired.PATH, desired.key))
        return (
            remembered is not None
            and remembered[0] == _fingerprint(desired)
            and remembered[1] > time.monotonic()
        )

    def forget(self, desired: Record) -> None:
        """Drop the memory of an object, so the next ``ensure_known`` looks at the router."""
        self.pool.remembered_objects.pop((desired.PATH, desired.key), None)

    def _remember(self, desired: Record) -> None:
        self.pool.remembered_objects[(desired.PATH, desired.key)] = (
            _fingerprint(desired),
            time.monotonic() + KNOWN_FOR_S,
        )

    async def disable(self, kind: type[R], target: Target, *, force: bool = False) -> WriteResult:
        return await self._set_disabled(kind, target, True, force)

    async def enable(self, kind: type[R], target: Target, *, force: bool = False) -> WriteResult:
        return await self._set_disabled(kind, target, False, force)

    async def remove(self, kind: type[R], target: Target, *, force: bool = False) -> WriteResult:
        """Remove the object(s); a target that is already gone is a no-op (``absent``)."""

        async def operation(connection: Connection) -> WriteResult:
            found = await self._resolve(connection, kind, target, force)
            return await self._write_ids(connection, kind, "remove", found)

        return await self.pool.run(operation)

    # -- live sessions ---------------------------------------------------------------------

    async def list_active(self, kind: ActiveKind, name: str | None = None) -> list[LiveSession]:
        """Live sessions (of one user, if ``name`` is given)."""
        words = () if name is None else (f"?={ACTIVE_NAME_FIELD[kind]}={name}",)
        rows = await self.pool.run(lambda s: s.run(f"{ACTIVE_PATHS[kind]}/print", *words))
        return [active_from_row(kind, row) for row in rows]

    async def kick(self, kind: ActiveKind, name: str) -> WriteResult:
        """End every live session of ``name``; ``absent`` if none was online."""
        path = ACTIVE_PATHS[kind]

        async def operation(connection: Connection) -> WriteResult:
            rows = await connection.run(f"{path}/print", f"?={ACTIVE_NAME_FIELD[kind]}={name}")
            ids = tuple(row[".id"] for row in rows if ".id" in row)
            if not ids:
                return WriteResult("absent")
            return await self._write(connection, f"{path}/remove", "removed", ids)

        return await self.pool.run(operation)

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _owner_words(kind: type[R], owner: OwnerTag) -> tuple[str, ...]:
        return (*kind.scope_words(), f"?=comment={owner.render()}")

    @staticmethod
    async def _select(connection: Connection, kind: type[R], query: Sequence[str]) -> list[R]:
        rows = await connection.run(f"{kind.PATH}/print", f"=.proplist={kind.proplist()}", *query)
        return [from_row(kind, row) for row in rows]

    async def _resolve(
        self, connection: Connection, kind: type[R], target: Target, force: bool
    ) -> list[R]:
        if isinstance(target, OwnerTag):
            return await self._select(connection, kind, self._owner_words(kind, target))
        found = await self._select(connection, kind, kind.key_words(target))
        for record in found:
            _check_owner(record, None, force)
        return found

    async def _ensure(
        self, connection: Connection, desired: R, take_over: bool, add_first: bool
    ) -> WriteResult:
        kind = type(desired)
        found = (
            [] if add_first else await self._select(connection, kind, kind.key_words(desired.key))
        )
        if not found:
            fields = desired.write_fields()
            try:
                new_id = await self._command(connection, f"{kind.PATH}/add", _words(fields))
                return WriteResult("created", (new_id,), (f"{kind.PATH}/add",), tuple(fields))
            except PermanentTrap as trap:
                # A concurrent writer, or our own earlier add whose reply was lost, created
                # it between our print and add: adopt it through the update path below.
                if "already" not in trap.message:
                    raise
                found = await self._select(connection, kind, kind.key_words(desired.key))
                if not found:
                    raise
        existing = found[0]
        changes = {
            name: value
            for name, value in desired.write_fields().items()
            if not same_value(name, value, getattr(existing, name))
        }
        if not changes:
            return WriteResult("unchanged", (existing.item_id,))
        _check_owner(existing, desired.owner, take_over)
        await self._command(
            connection, f"{kind.PATH}/set", [f"=.id={existing.item_id}", *_words(changes)]
        )
        return WriteResult("updated", (existing.item_id,), (f"{kind.PATH}/set",), tuple(changes))

    async def _set_disabled(
        self, kind: type[R], target: Target, disabled: bool, force: bool
    ) -> WriteResult:
        verb = "disable" if disabled else "enable"

        async def operation(connection: Connection) -> WriteResult:
            found = await self._resolve(connection, kind, target, force)
            pending = [r for r in found if getattr(r, "disabled", None) is not disabled]
            if found and not pending:
                return WriteResult("unchanged", tuple(r.item_id for r in found))
            return await self._write_ids(connection, kind, verb, pending)

        return await self.pool.run(operation)

    async def _write_ids(
        self, connection: Connection, kind: type[R], verb: str, records: Sequence[R]
    ) -> WriteResult:
        if not records:
            return WriteResult("absent")
        action: Action = "removed" if verb == "remove" else "updated"
        return await self._write(
            connection, f"{kind.PATH}/{verb}", action, [r.item_id for r in records]
        )

    async def _write(
        self, connection: Connection, command: str, action: Action, ids: Sequence[str]
    ) -> WriteResult:
        try:
            await self._command(connection, command, [f"=.id={','.join(ids)}"])
        except PermanentTrap as trap:
            # Gone between our print and the write (kicked, removed by hand): nothing to do.
            if action != "removed" or "no such item" not in trap.message:
                raise
        return WriteResult(action, tuple(ids), (command,))

    async def _command(self, connection: Connection, command: str, words: Sequence[str]) -> str:
        """Run one write command, log it, and return ``ret`` (the new id of an ``add``)."""
        self.write_log.append(command)
        await connection.run(command, *words)
        return connection.last_done.get("ret", "")
