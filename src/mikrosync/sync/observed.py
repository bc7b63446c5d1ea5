"""What one router holds, read for reconciliation: owned objects, unmanaged logins, sessions.

Who calls it: `reconcile.py`, after it has taken the database snapshot. It only reads.

Every menu is read with ONE streamed print, so a router with 50,000 secrets costs one command
per menu and memory grows with the rows kept, never with a reply buffer:

- the login menus (`/ppp/secret`, `/ip/hotspot/user`) are printed whole, once, and each row
  is split here into ours (tagged for this tenant) and unmanaged (anything else). They are
  the menus reconciliation must report unmanaged rows of, and usually the largest, so one
  plain print beats a range-query print of the owned rows plus a second print for the rest;
- the other menus (queues, the block list, profiles) also hold much that is not about
  subscribers (the ISP's own links, firewall lists, built-in profiles), so only this
  tenant's tagged rows are read (`RouterClient.iter_owned`);
- the active-session menus are streamed too (a busy router has thousands online).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from mikrosync.routeros import (
    AddressListEntry,
    HotspotProfile,
    HotspotUser,
    PppProfile,
    PppSecret,
    Record,
    RouterClient,
    SimpleQueue,
)
from mikrosync.routeros.resources import ACTIVE_NAME_FIELD, ACTIVE_PATHS, ActiveKind, R, from_row

T = TypeVar("T")
Progress = Callable[[str, int], None]
"""Called as rows arrive: (menu path, rows read from it so far)."""

LOGIN_KINDS: tuple[type[Record], ...] = (PppSecret, HotspotUser)
TAGGED_KINDS: tuple[type[Record], ...] = (SimpleQueue, AddressListEntry, PppProfile, HotspotProfile)
# The profile menu a login's `profile` names: a profile still named by a login is in use.
LOGIN_PROFILE: dict[type[Record], type[Record]] = {
    PppSecret: PppProfile,
    HotspotUser: HotspotProfile,
}
# Report progress every this many rows: often enough for a bar, rarely enough to cost nothing.
PROGRESS_EVERY = 1000


@dataclass
class ObservedRouter:
    """The router's side of the comparison."""

    owned: dict[type[Record], list[Record]] = field(default_factory=dict)
    """This tenant's tagged objects, per kind."""
    unmanaged: list[Record] = field(default_factory=list)
    """Logins not tagged as this tenant's (someone else's; reported, never touched)."""
    online: dict[ActiveKind, set[str]] = field(default_factory=dict)
    """Who has a live session, per session kind."""
    profile_users: Counter[tuple[type[Record], str]] = field(default_factory=Counter)
    """How many logins (ours or not) name each (profile kind, profile name)."""


async def read_router(
    client: RouterClient, tenant_id: int, progress: Progress | None = None
) -> ObservedRouter:
    """Read everything reconciliation compares, one streamed print per menu."""
    report = progress or _silent
    observed = ObservedRouter()
    for kind in LOGIN_KINDS:
        owned = observed.owned.setdefault(kind, [])
        async for record in _counted(kind.PATH, _print_all(client, kind), report):
            observed.profile_users[(LOGIN_PROFILE[kind], _profile_of(record))] += 1
            tag = record.owner
            mine = tag is not None and tag.tenant_id == str(tenant_id)
            (owned if mine else observed.unmanaged).append(record)
    for kind in TAGGED_KINDS:
        tagged = client.iter_owned(kind, tenant_id=tenant_id)
        observed.owned[kind] = [record async for record in _counted(kind.PATH, tagged, report)]
    for session_kind, path in ACTIVE_PATHS.items():
        name_field = ACTIVE_NAME_FIELD[session_kind]
        sessions = _stream(client, path, (f"=.proplist={name_field}",))
        names = {row.get(name_field, "") async for row in _counted(path, sessions, report)}
        observed.online[session_kind] = names
    return observed


def _silent(_label: str, _count: int) -> None:
    """The progress callback when the caller wants none."""


def _profile_of(record: Record) -> str:
    return str(getattr(record, "profile", None) or "default")


async def _counted(label: str, rows: AsyncIterator[T], progress: Progress) -> AsyncIterator[T]:
    count = 0
    progress(label, 0)
    async for row in rows:
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(label, count)
        yield row
    progress(label, count)


async def _print_all(client: RouterClient, kind: type[R]) -> AsyncIterator[R]:
    """Every row of a menu (owned or not), parsed into records as they arrive."""
    async for row in _stream(client, kind.PATH, (f"=.proplist={kind.proplist()}",)):
        yield from_row(kind, row)


async def _stream(
    client: RouterClient, path: str, words: Sequence[str]
) -> AsyncIterator[dict[str, str]]:
    """One plain `print` of a menu, streamed on a leased pool session.

    The client has no such operation: it deals in owned objects only. The pool and session
    it uses are public, so the unowned rows are read here without widening the client.
    """
    async with client.pool.connection() as session:
        async for row in session.stream(f"{path}/print", *words):
            yield row
