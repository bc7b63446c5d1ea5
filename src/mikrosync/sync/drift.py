"""Sorting the differences between a router and the database into drift kinds (pure, no I/O).

Who calls it: `reconcile.py`, with its database snapshot (one `Expected` per subscriber row of
the router, holding the plan `plan_subscriber` makes, so "what should be there" has ONE
definition: the converge's) and what `observed.py` read. Each `Drift` names the repair it
would take; whether to take it is the tenant's policy, and the writes are `reconcile.py`'s.

Kinds:

- `missing`: a subscriber's object is not on the router;
- `different`: it is there but differs (profile, disabled, password, rate, address), an object
  the plan wants gone is still there, or a suspended subscriber is still online;
- `orphan`: tagged as ours but no row wants it (no such subscriber on this router, a deleted
  package, or an extra object of a live subscriber, e.g. a login renamed by hand);
- `unmanaged`: a login that is not ours (reported, never touched: DESIGN §1.6);
- `profile_drift`: a package's profile is absent, or its rate limit was changed by hand.

Subscribers with a change on its way (`desired_version` ahead of `synced_version`, or in
`error`) are not judged: the router may lag behind them legitimately, and their own job (or
the operator's Retry) settles them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mikrosync.routeros import (
    AddressListEntry,
    HotspotProfile,
    HotspotUser,
    OwnerTag,
    PppProfile,
    PppSecret,
    Record,
    SimpleQueue,
    Target,
)
from mikrosync.routeros.resources import RateProfile, api_name, same_value
from mikrosync.sync.desired import DesiredSubscriber
from mikrosync.sync.observed import LOGIN_KINDS, ObservedRouter
from mikrosync.sync.plan import SESSION_KIND, RouterPlan, subscriber_tag

SUBSCRIBER_KINDS: tuple[type[Record], ...] = (PppSecret, HotspotUser, SimpleQueue, AddressListEntry)
PROFILE_KINDS: tuple[type[Record], ...] = (PppProfile, HotspotProfile)
# Items kept per kind in a stored report; the counts stay exact.
ITEM_CAP = 500


class DriftKind(StrEnum):
    MISSING = "missing"
    DIFFERENT = "different"
    ORPHAN = "orphan"
    UNMANAGED = "unmanaged"
    PROFILE_DRIFT = "profile_drift"


@dataclass(frozen=True)
class Expected:
    """One subscriber row of the router, as the database wants it."""

    desired: DesiredSubscriber
    plan: RouterPlan
    in_flight: bool
    """A change is on its way (or failed): not judged."""


@dataclass(frozen=True)
class Drift:
    """One difference, with the repair that would settle it."""

    kind: DriftKind
    menu: str
    name: str
    detail: str
    subscriber_id: int | None = None
    package_id: int | None = None
    remove: tuple[type[Record], Target] | None = None
    """For orphans: what to remove (by tag when no row owns it, else by key)."""
    ensure: RateProfile | None = None
    """For profile drift: the profile record the plan wants."""
    blocked: str | None = None
    """Why the repair must not be made (e.g. a profile still in use)."""

    def item(self) -> dict[str, Any]:
        """The JSON form stored in the run's report (never a password)."""
        item: dict[str, Any] = {"menu": self.menu, "name": self.name, "detail": self.detail}
        if self.subscriber_id is not None:
            item["subscriber_id"] = self.subscriber_id
        if self.package_id is not None:
            item["package_id"] = self.package_id
        if self.blocked is not None:
            item["blocked"] = self.blocked
        return item


Objects = dict[type[Record], list[Record]]


def classify(
    expected: Sequence[Expected], observed: ObservedRouter, package_ids: Collection[int]
) -> list[Drift]:
    """Every drift between the router's rows in the database and what the router holds."""
    tagged = _by_owner(observed)
    foreign = {(type(r), r.key) for r in observed.unmanaged}
    drifts: list[Drift] = []
    for row in expected:
        if not row.in_flight:
            mine = tagged.get(subscriber_tag(row.desired), {})
            drifts.extend(_judge(row, mine, observed, foreign))
    drifts.extend(_orphans(tagged, {row.desired.subscriber_id for row in expected}))
    drifts.extend(_profiles(expected, observed, package_ids))
    drifts.extend(_unmanaged(record) for record in observed.unmanaged)
    return drifts


def counts_of(drifts: Iterable[Drift]) -> dict[str, int]:
    counts = dict.fromkeys(DriftKind, 0) | Counter(drift.kind for drift in drifts)
    return {str(kind): count for kind, count in counts.items()}


def capped(entries: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Group (kind, entry) pairs per kind, keeping at most ITEM_CAP of each."""
    grouped: dict[str, list[dict[str, Any]]] = {str(kind): [] for kind in DriftKind}
    for kind, entry in entries:
        kept = grouped.setdefault(kind, [])
        if len(kept) < ITEM_CAP:
            kept.append(entry)
    return grouped


# -- subscribers -------------------------------------------------------------------------------


def _by_owner(observed: ObservedRouter) -> dict[OwnerTag, Objects]:
    grouped: dict[OwnerTag, Objects] = defaultdict(lambda: defaultdict(list))
    for kind in SUBSCRIBER_KINDS:
        for record in observed.owned.get(kind, []):
            owner = record.owner
            assert owner is not None  # observed.owned holds tagged rows only
            if owner.role == "v":
                # A voucher's hotspot user: neither unmanaged nor an orphan here; the voucher
                # batch job owns its life and removal (vouchers/carry.py).
                continue
            grouped[owner][kind].append(record)
    return grouped


def _judge(
    row: Expected, mine: Objects, observed: ObservedRouter, foreign: set[tuple[type[Record], str]]
) -> list[Drift]:
    desired, plan = row.desired, row.plan
    missing: list[str] = []
    different: list[str] = []
    for position, record in enumerate(plan.ensure):
        found = next((o for o in mine.get(type(record), []) if o.key == record.key), None)
        if found is None:
            taken = (type(record), record.key) in foreign
            missing.append(_missing_note(record, primary=position == 0, name_taken=taken))
        else:
            different.extend(_field_notes(record, found))
    wanted = {(type(record), record.key) for record in plan.ensure}
    stale: list[Drift] = []
    for kind, objects in mine.items():
        for obj in objects:
            if (kind, obj.key) in wanted:
                continue
            if kind in plan.remove or kind in plan.exclusive:
                # The converge removes these itself (a lifted block, a stale block entry).
                different.append(f"{kind.PATH} {obj.key!r} should not be there")
            else:
                stale.append(_stale(kind, obj, desired))
    if _owes_disconnect(plan, desired, observed):
        different.append("still online although suspended (owed disconnect)")
    menu = plan.ensure[0].PATH if plan.ensure else ""
    drifts = [
        Drift(kind, menu, desired.username, "; ".join(notes), subscriber_id=desired.subscriber_id)
        for kind, notes in ((DriftKind.MISSING, missing), (DriftKind.DIFFERENT, different))
        if notes
    ]
    return drifts + stale


def _missing_note(record: Record, *, primary: bool, name_taken: bool) -> str:
    """The item already names the subscriber's first object (menu and username)."""
    note = "not on the router" if primary else f"its {record.PATH} entry {record.key!r} is missing"
    if name_taken:
        note += " (a login of that name exists but is not mikrosync's; it will not be taken over)"
    return note


def _field_notes(want: Record, have: Record) -> list[str]:
    notes: list[str] = []
    for name, value in want.write_fields().items():
        current = getattr(have, name)
        if name == "password":
            # Without the `sensitive` policy a router does not print passwords: unknown, not drift.
            if current is not None and current != value:
                notes.append("password differs")
        elif name == "disabled":
            if current is not value:
                state = "enabled on the router, should be disabled"
                notes.append(state if value else "disabled on the router, should be enabled")
        elif not same_value(name, value, current):
            notes.append(
                f"{api_name(name)} is {_shown(current)} on the router, want {_shown(value)}"
            )
    return notes


def _shown(value: object) -> str:
    return "unset" if value is None else repr(value)


def _stale(kind: type[Record], obj: Record, desired: DesiredSubscriber) -> Drift:
    return Drift(
        DriftKind.ORPHAN,
        kind.PATH,
        obj.key,
        f"an extra object of subscriber {desired.username!r} (renamed by hand?)",
        subscriber_id=desired.subscriber_id,
        remove=(kind, obj.key),
    )


def _owes_disconnect(
    plan: RouterPlan, desired: DesiredSubscriber, observed: ObservedRouter
) -> bool:
    """A login the plan disables (suspended, no captive profile) must have no live session."""
    session_kind = SESSION_KIND.get(desired.service)
    login = next((r for r in plan.ensure if type(r) in LOGIN_KINDS), None)
    if session_kind is None or login is None or getattr(login, "disabled", None) is not True:
        return False
    return login.key in observed.online.get(session_kind, set())


def _orphans(tagged: Mapping[OwnerTag, Objects], rows: Collection[int]) -> list[Drift]:
    drifts: list[Drift] = []
    for tag, objects in tagged.items():
        ref = _int(tag.ref_id)
        if tag.role == "s" and ref in rows:
            continue
        for kind, records in objects.items():
            for record in records:
                drifts.append(
                    Drift(
                        DriftKind.ORPHAN,
                        kind.PATH,
                        record.key,
                        f"tagged {tag} but no such subscriber on this router",
                        subscriber_id=ref if tag.role == "s" else None,
                        remove=(kind, tag),
                    )
                )
    return drifts


# -- package profiles --------------------------------------------------------------------------


def _profiles(
    expected: Sequence[Expected], observed: ObservedRouter, package_ids: Collection[int]
) -> list[Drift]:
    wanted: dict[tuple[type[Record], str], RateProfile] = {}
    for row in expected:
        if row.plan.profile is not None:
            wanted.setdefault((type(row.plan.profile), row.plan.profile.name), row.plan.profile)
    present = {(kind, r.key): r for kind in PROFILE_KINDS for r in observed.owned.get(kind, [])}
    drifts = [
        drift for key, want in wanted.items() if (drift := _profile_diff(want, present.get(key)))
    ]
    used = {_package_of(profile) for profile in wanted.values()}
    for key, record in present.items():
        if key not in wanted:
            orphan = _profile_orphan(record, package_ids, used, observed.profile_users[key])
            if orphan is not None:
                drifts.append(orphan)
    return drifts


def _profile_diff(want: RateProfile, have: Record | None) -> Drift | None:
    package_id = _package_of(want)
    if have is None:
        detail = "not on the router"
        return Drift(
            DriftKind.PROFILE_DRIFT, want.PATH, want.name, detail, None, package_id, ensure=want
        )
    if have.owner != want.owner:
        detail = f"tagged {have.owner}, not for package {package_id}"
        return Drift(
            DriftKind.PROFILE_DRIFT,
            want.PATH,
            want.name,
            detail,
            None,
            package_id,
            blocked="two packages share this profile name",
        )
    rate = getattr(have, "rate_limit", None)
    if same_value("rate_limit", want.rate_limit, rate):
        return None
    detail = f"rate-limit is {_shown(rate)} on the router, want {_shown(want.rate_limit)}"
    return Drift(
        DriftKind.PROFILE_DRIFT, want.PATH, want.name, detail, None, package_id, ensure=want
    )


def _profile_orphan(
    record: Record, package_ids: Collection[int], used: Collection[int | None], users: int
) -> Drift | None:
    tag = record.owner
    assert tag is not None
    package_id = _int(tag.ref_id) if tag.role == "p" else None
    exists = package_id is not None and package_id in package_ids
    if exists and package_id not in used:
        return None  # a live package's profile that no subscriber here needs now: not drift
    detail = (
        f"an old profile of package {package_id} (its profile name changed)"
        if exists
        else f"tagged {tag} but no such package"
    )
    return Drift(
        DriftKind.ORPHAN,
        record.PATH,
        record.key,
        detail,
        package_id=package_id,
        remove=(type(record), record.key if exists else tag),
        blocked=f"still the profile of {users} login(s)" if users else None,
    )


def _package_of(profile: Record) -> int | None:
    owner = profile.owner
    return _int(owner.ref_id) if owner is not None else None


def _unmanaged(record: Record) -> Drift:
    comment = getattr(record, "comment", None)
    detail = f"not mikrosync's (comment {comment!r})" if comment else "not mikrosync's (no comment)"
    return Drift(DriftKind.UNMANAGED, record.PATH, record.key, detail)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None
