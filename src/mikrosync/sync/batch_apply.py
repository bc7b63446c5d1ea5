"""Carry out many subscribers' RouterPlans on one router, with pipelined commands.

The per-router unit of work (`batch.py`) hands over the plans of up to a few hundred
subscribers; this module talks to the router and says, per subscriber, what happened:

1. each package profile the plans use goes through `ensure_known` (once per router and
   process, as for a lone converge);
2. one pipelined read on one leased connection: the owned objects of every menu the plans touch
   (by the tenant's owner-tag prefix when the batch is big, by each subscriber's tag when it is
   small), the live sessions of the subscribers to kick, and for removals the logins of that
   name (a foreign login's session is never ended, DESIGN §1.6);
3. the writes, pipelined: a new subscriber's login is one `add`; a changed one is one `set`
   (the read proved ownership: the object carries the subscriber's tag); removals by `.id`;
4. the kicks (live sessions read in 2, removed by `.id`), after every login was blocked;
5. the check that no live session is left for each suspended or removed subscriber: one more
   read, and once more a removal and a read for a session that raced the block.

A `!trap` fails that subscriber alone, with the router's words. An `add` refused with "already
exists" (a lost reply of an earlier run, or a foreign object of that name) and anything the
batch cannot decide from its read go through the subscriber's own `apply_plan`, which adopts
or refuses exactly as a lone converge does. A broken connection ends the batch: subscribers
whose commands were all answered keep their outcome, the others are left to retry (every step
is idempotent, so re-running them is harmless).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from mikrosync.routeros import (
    PermanentRouterError,
    Record,
    RouterClient,
    RouterOSError,
    TransientRouterError,
)
from mikrosync.routeros.connection import Connection
from mikrosync.routeros.pipeline import Command, PipelineResult, Reply, run_pipelined
from mikrosync.routeros.resources import (
    ACTIVE_NAME_FIELD,
    ACTIVE_PATHS,
    ActiveKind,
    api_name,
    api_value,
    from_row,
    same_value,
)
from mikrosync.routeros.tags import prefix_query, tag_prefix
from mikrosync.sync.apply import LOGIN_KINDS, apply_plan
from mikrosync.sync.errors import TemporaryError
from mikrosync.sync.plan import RouterPlan

log = logging.getLogger(__name__)

BULK_READ_FROM = 24
"""From this many subscribers on, a menu is read once by the tenant's tag prefix (one command,
however many rows) instead of once per subscriber (one command each)."""
KICK_ROUNDS = 2
"""A session that started between the read and the block is removed in a second round."""


@dataclass
class RowResult:
    """One subscriber's outcome in the batch."""

    commands: list[str] = field(default_factory=list)
    error: str | None = None
    """A refusal retrying cannot heal: the router's own words."""
    retry: str | None = None
    """Worth another try (still online after the kick, the connection broke before its reply)."""
    slow: bool = False
    """Needs its own `apply_plan` (decided during the batch)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.retry is None and not self.slow

    def summary(self) -> str:
        return "; ".join(self.commands) if self.commands else "router already matched"


@dataclass
class BatchReport:
    results: list[RowResult]
    broken: RouterOSError | None = None
    """The connection failed mid-batch (rows without a decided outcome carry `retry`)."""


@dataclass
class _Row:
    plan: RouterPlan
    result: RowResult
    tag: str
    owned: dict[type[Record], list[Record]] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)
    foreign_login: bool = False


class _Broken(Exception):
    def __init__(self, error: RouterOSError) -> None:
        self.error = error


async def apply_batch(client: RouterClient, plans: Sequence[RouterPlan]) -> BatchReport:
    rows = [_Row(plan, RowResult(), plan.tag.render()) for plan in plans]
    await _ensure_profiles(client, rows)
    live = [row for row in rows if row.result.error is None]
    broken: RouterOSError | None = None
    try:
        async with client.pool.connection() as connection:
            await _read(connection, live)
            await _write(connection, client, live)
            await _kick(connection, live)
    except _Broken as exc:
        broken = exc.error
        for row in live:
            if row.result.error is None and row.result.retry is None:
                row.result.retry = f"connection to the router broke mid-batch: {broken.message}"
                row.result.slow = False
    for row in live:
        if row.result.slow:
            await _apply_alone(client, row)
    return BatchReport([row.result for row in rows], broken)


async def _ensure_profiles(client: RouterClient, rows: list[_Row]) -> None:
    """The package profiles first: a refused profile fails the subscribers that need it."""
    refused: dict[tuple[str, str], str] = {}
    for row in rows:
        profile = row.plan.profile
        if profile is None:
            continue
        key = (profile.PATH, profile.key)
        if key not in refused:
            try:
                row.result.commands.extend((await client.ensure_known(profile)).commands)
                refused[key] = ""
            except PermanentRouterError as exc:
                refused[key] = exc.message
        if refused[key]:
            row.result.error = refused[key]


async def _pipeline(connection: Connection, commands: list[Command]) -> list[Reply | None]:
    result: PipelineResult = await run_pipelined(connection, commands)
    if result.error is not None:
        raise _Broken(result.error)
    return result.replies


def _reply_or_raise(reply: Reply | None) -> Reply:
    if reply is None:  # cannot happen without `_Broken`; kept for the type checker
        raise _Broken(TransientRouterError("reply missing"))
    return reply


# -- 2. read ---------------------------------------------------------------------------------


def _kinds(plan: RouterPlan) -> set[type[Record]]:
    return {type(record) for record in plan.ensure} | set(plan.remove) | set(plan.exclusive)


@dataclass
class _OwnedRead:
    kind: type[Record]
    rows: dict[str, _Row]
    """By owner tag."""


@dataclass
class _ActiveRead:
    kind: ActiveKind
    rows: dict[str, _Row]
    """By login name."""


@dataclass
class _LoginRead:
    row: _Row


_Read = _OwnedRead | _ActiveRead | _LoginRead


async def _read(connection: Connection, rows: list[_Row]) -> None:
    reading = [row for row in rows if not _add_only(row.plan)]
    bulk = len(reading) >= BULK_READ_FROM
    reads: list[tuple[Command, _Read]] = []
    by_kind: dict[type[Record], list[_Row]] = defaultdict(list)
    kicking: dict[ActiveKind, list[_Row]] = defaultdict(list)
    for row in reading:
        for kind in _kinds(row.plan):
            by_kind[kind].append(row)
        if row.plan.kick is not None and _session_user(row.plan) is not None:
            kicking[row.plan.kick].append(row)
    for kind, kind_rows in by_kind.items():
        reads.extend(_owned_reads(kind, kind_rows, bulk))
    for active_kind, kind_rows in kicking.items():
        reads.extend(_active_reads(active_kind, kind_rows, bulk))
    reads.extend(_login_reads(reading))
    replies = await _pipeline(connection, [command for command, _ in reads])
    for (_, read), reply in zip(reads, replies, strict=True):
        _file(read, _reply_or_raise(reply))


def _owned_reads(kind: type[Record], rows: list[_Row], bulk: bool) -> list[tuple[Command, _Read]]:
    words = (f"=.proplist={kind.proplist()}", *kind.scope_words())
    if bulk:
        query = prefix_query("comment", tag_prefix(rows[0].plan.tag.tenant_id))
        command = Command(f"{kind.PATH}/print", (*words, *query))
        return [(command, _OwnedRead(kind, {row.tag: row for row in rows}))]
    return [
        (
            Command(f"{kind.PATH}/print", (*words, f"?=comment={row.tag}")),
            _OwnedRead(kind, {row.tag: row}),
        )
        for row in rows
    ]


def _active_reads(kind: ActiveKind, rows: list[_Row], bulk: bool) -> list[tuple[Command, _Read]]:
    name_field = ACTIVE_NAME_FIELD[kind]
    path = f"{ACTIVE_PATHS[kind]}/print"
    proplist = f"=.proplist=.id,{name_field}"
    if bulk:
        by_user = {_session_user(r.plan) or "": r for r in rows}
        return [(Command(path, (proplist,)), _ActiveRead(kind, by_user))]
    reads: list[tuple[Command, _Read]] = []
    for row in rows:
        user = _session_user(row.plan) or ""
        reads.append(
            (Command(path, (proplist, f"?={name_field}={user}")), _ActiveRead(kind, {user: row}))
        )
    return reads


def _login_reads(rows: list[_Row]) -> list[tuple[Command, _Read]]:
    """A removal ends the live session only if the login of that name is not someone else's."""
    reads: list[tuple[Command, _Read]] = []
    for row in rows:
        user = row.plan.session_user
        if not _is_removal(row.plan) or row.plan.kick is None or user is None:
            continue
        for kind in row.plan.remove:
            if kind in LOGIN_KINDS:
                reads.append((Command(f"{kind.PATH}/print", kind.key_words(user)), _LoginRead(row)))
    return reads


def _targets(read: _Read) -> list[_Row]:
    return [read.row] if isinstance(read, _LoginRead) else list(read.rows.values())


def _file(read: _Read, reply: Reply) -> None:
    if reply.error is not None:
        # A read refused: the batch cannot decide for these subscribers; each goes alone.
        for row in _targets(read):
            row.result.slow = True
        return
    if isinstance(read, _OwnedRead):
        for row in read.rows.values():
            row.owned.setdefault(read.kind, [])
        for raw in reply.rows:
            owner = read.rows.get(raw.get("comment", ""))
            if owner is not None:
                owner.owned[read.kind].append(from_row(read.kind, raw))
    elif isinstance(read, _ActiveRead):
        name_field = ACTIVE_NAME_FIELD[read.kind]
        for raw in reply.rows:
            owner = read.rows.get(raw.get(name_field, ""))
            if owner is not None and ".id" in raw:
                owner.sessions.append(raw[".id"])
    elif any(raw.get("comment", "") != read.row.tag for raw in reply.rows):
        read.row.foreign_login = True


# -- 3. write --------------------------------------------------------------------------------


def _add_only(plan: RouterPlan) -> bool:
    """A new subscriber's objects: nothing to read first, one `add` each."""
    return plan.fresh and not plan.remove and not plan.exclusive and plan.kick is None


def _is_removal(plan: RouterPlan) -> bool:
    return not plan.ensure and bool(plan.remove)


def _add(record: Record) -> Command:
    fields = record.write_fields()
    return Command(
        f"{record.PATH}/add",
        tuple(f"={api_name(name)}={api_value(value)}" for name, value in fields.items()),
    )


def _row_writes(row: _Row) -> list[Command]:
    if _add_only(row.plan):
        return [_add(record) for record in row.plan.ensure]
    commands: list[Command] = []
    plan = row.plan
    for kind in plan.exclusive:
        wanted = {record.key for record in plan.ensure if isinstance(record, kind)}
        stale = [o.item_id for o in row.owned.get(kind, []) if o.key not in wanted]
        if stale:
            commands.append(Command(f"{kind.PATH}/remove", (f"=.id={','.join(stale)}",)))
    for record in plan.ensure:
        kind = type(record)
        existing = next((o for o in row.owned.get(kind, []) if o.key == record.key), None)
        if existing is None:
            commands.append(_add(record))
            continue
        changes = {
            name: value
            for name, value in record.write_fields().items()
            if not same_value(name, value, getattr(existing, name))
        }
        if changes:
            words = tuple(f"={api_name(n)}={api_value(v)}" for n, v in changes.items())
            commands.append(Command(f"{kind.PATH}/set", (f"=.id={existing.item_id}", *words)))
    for kind in plan.remove:
        ids = [o.item_id for o in row.owned.get(kind, [])]
        if ids:
            commands.append(Command(f"{kind.PATH}/remove", (f"=.id={','.join(ids)}",)))
    return commands


async def _write(connection: Connection, client: RouterClient, rows: list[_Row]) -> None:
    commands: list[Command] = []
    owners: list[_Row] = []
    for row in rows:
        if row.result.slow or row.result.error is not None:
            continue
        for command in _row_writes(row):
            commands.append(command)
            owners.append(row)
    replies = await _pipeline(connection, commands)
    for command, row, reply in zip(commands, owners, replies, strict=True):
        answer = _reply_or_raise(reply)
        client.write_log.append(command.path)
        if answer.error is None:
            row.result.commands.append(command.path)
        elif command.path.endswith("/add") and "already" in answer.error.message:
            row.result.slow = True  # adopt (or refuse a foreign object) the lone way
        elif command.path.endswith("/remove") and "no such item" in answer.error.message:
            continue  # gone between the read and the removal
        elif isinstance(answer.error, PermanentRouterError):
            row.result.error = row.result.error or answer.error.message
        else:
            row.result.retry = row.result.retry or answer.error.message


# -- 4. kick and verify ----------------------------------------------------------------------


def _session_user(plan: RouterPlan) -> str | None:
    for record in plan.ensure:
        return record.key
    return plan.session_user


def _kickable(row: _Row) -> bool:
    return (
        row.result.ok
        and row.plan.kick is not None
        and not row.foreign_login
        and _session_user(row.plan) is not None
    )


async def _kick(connection: Connection, rows: list[_Row]) -> None:
    kicking = [row for row in rows if _kickable(row)]
    for _ in range(KICK_ROUNDS):
        commands: list[Command] = []
        owners: list[_Row] = []
        for row in kicking:
            if row.sessions:
                path = ACTIVE_PATHS[row.plan.kick]  # type: ignore[index]
                commands.append(Command(f"{path}/remove", (f"=.id={','.join(row.sessions)}",)))
                owners.append(row)
        replies = await _pipeline(connection, commands)
        for command, row, reply in zip(commands, owners, replies, strict=True):
            answer = _reply_or_raise(reply)
            if answer.error is None or "no such item" in answer.error.message:
                row.result.commands.append(command.path)
            else:
                row.result.retry = answer.error.message
        verifying = [row for row in kicking if row.plan.verify_offline and row.result.ok]
        if not verifying:
            return
        for row in verifying:
            row.sessions = []
        await _reverify(connection, verifying)
        kicking = [row for row in verifying if row.sessions]
        if not kicking:
            return
    for row in kicking:
        user = _session_user(row.plan)
        row.result.retry = f"{user} is still online after the session was ended"


async def _reverify(connection: Connection, rows: list[_Row]) -> None:
    by_kind: dict[ActiveKind, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.plan.kick is not None:
            by_kind[row.plan.kick].append(row)
    reads: list[tuple[Command, _Read]] = []
    for kind, kind_rows in by_kind.items():
        reads.extend(_active_reads(kind, kind_rows, len(rows) >= BULK_READ_FROM))
    replies = await _pipeline(connection, [command for command, _ in reads])
    for (_, read), reply in zip(reads, replies, strict=True):
        answer = _reply_or_raise(reply)
        if answer.error is not None:
            for row in _targets(read):
                row.result.retry = answer.error.message
            continue
        _file(read, answer)


# -- the lone way ----------------------------------------------------------------------------


async def _apply_alone(client: RouterClient, row: _Row) -> None:
    row.result.slow = False
    try:
        report = await apply_plan(client, row.plan)
    except PermanentRouterError as exc:
        row.result.error = exc.message
    except TemporaryError as exc:
        row.result.retry = exc.message
    except TransientRouterError as exc:
        row.result.retry = exc.message
    else:
        row.result.commands.extend(report.commands)
