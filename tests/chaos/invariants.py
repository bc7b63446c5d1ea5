"""The invariants, checked after quiescence and one reconciliation.

Written independently of the product's own drift code (`mikrosync.sync.drift`): what a
subscriber's router objects must be is spelled out here again, from the *model* (the answers
to accepted writes), not from the database, so a lost update shows up on the router too.
Routers are read through the simulator's own tables (no faults, no protocol in between).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from mikrosync.security.vault import Vault
from mikrosync.simulator import SimRouter
from mikrosync.subscribers.models import Subscriber
from tests.chaos.faults import TRAP_MESSAGE
from tests.chaos.model import Expected, Model
from tests.chaos.technician import MENUS, Ledger, ours

BLOCK_LIST = "mikrosync-blocked"
SUBSCRIBER_MENUS = ("/ppp/secret", "/ip/hotspot/user", "/queue/simple", "/ip/firewall/address-list")
LOGIN_MENU = {"pppoe": "/ppp/secret", "hotspot": "/ip/hotspot/user"}
PROFILE_MENU = {"pppoe": "/ppp/profile", "hotspot": "/ip/hotspot/user/profile"}
SESSION_MENU = {"pppoe": ("/ppp/active", "name"), "hotspot": ("/ip/hotspot/active", "user")}
# Reasons a subscriber may legitimately be left in `error`.
EXPECTED_ERRORS = (TRAP_MESSAGE, "not touching it", "gave up after")


@dataclass(frozen=True)
class PackageInfo:
    id: int
    service: str
    profile_name: str
    rate_limit: str


@dataclass
class World:
    """Everything the checks read, gathered once the run is quiet."""

    tenant_id: int
    model: Model
    rows: dict[int, Subscriber]
    packages: dict[int, PackageInfo]
    sims: list[SimRouter]
    router_index: dict[int, int]
    ledger: Ledger
    vault: Vault
    moment: datetime


# Product bugs this test found, reported with a proposed fix that is not applied yet (see
# test_regressions.py, one xfail(strict) test each): `findings.add(..., bug=N)` where a
# divergence has that bug's signature lists it apart, and it does not fail the run. When a fix
# lands, delete its entry and its signature check: from then on its divergences fail. Bugs 1-3
# are fixed; none is open.
OPEN_BUGS: dict[int, str] = {}


@dataclass
class Findings:
    divergences: list[tuple[str, str]] = field(default_factory=list)
    known: list[tuple[str, str]] = field(default_factory=list)
    errors_by_reason: Counter[str] = field(default_factory=Counter)
    status_counts: Counter[str] = field(default_factory=Counter)
    checked_on_router: int = 0

    def add(self, kind: str, detail: str, *, bug: int | None = None) -> None:
        if bug in OPEN_BUGS:
            self.known.append((f"{kind} (bug {bug}: {OPEN_BUGS[bug]})", detail))
        else:
            self.divergences.append((kind, detail))

    def by_kind(self) -> Counter[str]:
        return Counter(kind for kind, _ in self.divergences)


def rate_number(value: str) -> str:
    """`10M/5M` and `10000000/5000000` are one limit (the first pair only)."""
    units = {"k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000}
    parts = []
    for part in value.split()[0].split("/"):
        scale = units.get(part[-1:], 1)
        parts.append(str(int(float(part.rstrip("kKMG")) * scale)))
    return "/".join(parts)


def reason_class(message: str) -> str:
    for known in EXPECTED_ERRORS:
        if known in message:
            return known
    return "unexpected"


def check(world: World) -> Findings:
    findings = Findings()
    _check_statuses(world, findings)
    _check_model(world, findings)
    _check_routers(world, findings)
    _check_orphans(world, findings)
    _check_unmanaged(world, findings)
    _check_sessions(world, findings)
    return findings


def _check_statuses(world: World, findings: Findings) -> None:
    """Every subscriber `synced` (at its desired version), or `error` with a reason."""
    for row in world.rows.values():
        findings.status_counts[row.sync_status] += 1
        if row.sync_status == "error":
            message = row.sync_error_message or ""
            findings.errors_by_reason[reason_class(message)] += 1
            if not message:
                findings.add("error without a reason", f"subscriber {row.id}")
            elif reason_class(message) == "unexpected":
                findings.add("unexpected error reason", f"subscriber {row.id}: {message}")
        elif row.sync_status != "synced" or row.synced_version != row.desired_version:
            findings.add(
                "not converged",
                f"subscriber {row.id} {row.username!r}: {row.sync_status}, desired "
                f"v{row.desired_version}, synced v{row.synced_version}, "
                f"pending_removal={row.pending_removal}",
            )
        elif row.pending_removal:
            findings.add("not converged", f"subscriber {row.id} synced but still pending removal")


def _check_model(world: World, findings: Findings) -> None:
    """No lost update: the database holds the last accepted write of every subscriber."""
    for expected in world.model.slots.values():
        if not expected.created:
            continue
        assert expected.id is not None
        row = world.rows.get(expected.id)
        name = f"subscriber {expected.id} {expected.spec.username!r}"
        if expected.deleted:
            if row is not None and row.sync_status != "error":
                findings.add("lost update", f"{name}: deleted, but its row is still there")
            continue
        if row is None:
            findings.add("lost update", f"{name}: not deleted, but its row is gone")
            continue
        wrong = _differences(world, expected, row)
        if wrong:
            findings.add("lost update", f"{name}: {'; '.join(wrong)} (history {expected.history})")


def _differences(world: World, expected: Expected, row: Subscriber) -> list[str]:
    wrong: list[str] = []
    target = row.pending_package_id or row.package_id
    if target != expected.package_id:
        wrong.append(f"package {target} != {expected.package_id}")
    if row.sync_status == "synced" and row.pending_package_id is not None:
        wrong.append(f"synced with pending_package_id {row.pending_package_id}")
    suspended = expected.suspended_at(world.moment)
    if row.is_suspended != suspended:
        wrong.append(f"is_suspended {row.is_suspended} != {suspended}")
    if _instant(row.expires_at) != _instant(expected.expires_at):
        wrong.append(f"expires_at {row.expires_at} != {expected.expires_at}")
    if row.static_ip != expected.static_ip:
        wrong.append(f"static_ip {row.static_ip} != {expected.static_ip}")
    stored = world.vault.decrypt(row.password_encrypted) if row.password_encrypted else None
    if stored != expected.password:
        wrong.append("password is not the last one accepted")
    return wrong


def _instant(value: datetime | None) -> float | None:
    return None if value is None else round(value.timestamp(), 3)


def expected_objects(
    expected: Expected, package: PackageInfo, tenant_id: int, suspended: bool
) -> dict[str, list[dict[str, str]]]:
    """What the router must hold, tagged for this subscriber, per menu (only the fields
    mikrosync manages)."""
    tag = f"mikrosync:t={tenant_id}:s={expected.id}"
    username = expected.spec.username
    service = expected.spec.service
    if service == "static":
        assert expected.static_ip is not None
        objects: dict[str, list[dict[str, str]]] = {
            "/queue/simple": [
                {
                    "name": username,
                    "target": f"{expected.static_ip}/32",
                    "max-limit": rate_number(package.rate_limit),
                    "comment": tag,
                }
            ]
        }
        if suspended:
            block = {"list": BLOCK_LIST, "address": expected.static_ip, "comment": tag}
            objects["/ip/firewall/address-list"] = [block]
        return objects
    login = {
        "name": username,
        "password": expected.password or "",
        "profile": package.profile_name,
        "comment": tag,
        "disabled": "true" if suspended else "false",
    }
    if service == "pppoe":
        login["service"] = "pppoe"
    return {LOGIN_MENU[service]: [login]}


def _observed(row: dict[str, str], want: dict[str, str]) -> dict[str, str]:
    values = {key: row.get(key, "") for key in want}
    if "max-limit" in values:
        values["max-limit"] = rate_number(values["max-limit"])
    return values


def _by_comment(sims: list[SimRouter]) -> list[dict[str, dict[str, list[dict[str, str]]]]]:
    """Per router, per menu: rows by comment (one print of each menu for the whole check)."""
    indexes = []
    for sim in sims:
        index: dict[str, dict[str, list[dict[str, str]]]] = {}
        for menu in SUBSCRIBER_MENUS:
            rows: dict[str, list[dict[str, str]]] = {}
            for row in sim.rows(menu):
                rows.setdefault(row.get("comment", ""), []).append(row)
            index[menu] = rows
        indexes.append(index)
    return indexes


def _check_routers(world: World, findings: Findings) -> None:
    """The router objects of every non-error subscriber equal its desired state."""
    tagged = _by_comment(world.sims)
    profiles = {
        (index, menu): sim.rows(menu)
        for index, sim in enumerate(world.sims)
        for menu in PROFILE_MENU.values()
    }
    for expected in world.model.slots.values():
        if not expected.created or expected.deleted or expected.id is None:
            continue
        row = world.rows.get(expected.id)
        if row is None or row.sync_status == "error":
            continue
        findings.checked_on_router += 1
        router = world.router_index[expected.router_id]
        package = world.packages[expected.package_id]
        suspended = expected.suspended_at(world.moment)
        wanted = expected_objects(expected, package, world.tenant_id, suspended)
        tag = f"mikrosync:t={world.tenant_id}:s={expected.id}"
        name = f"subscriber {expected.id} {expected.spec.username!r}"
        for menu in SUBSCRIBER_MENUS:
            have = tagged[router][menu].get(tag, [])
            want = wanted.get(menu, [])
            observed = sorted((_observed(r, w) for r in have for w in want[:1]), key=str)
            if len(have) != len(want) or observed != sorted(want, key=str):
                findings.add(
                    "router differs",
                    f"{name} {menu}: want {want}, router has {observed or have}",
                )
        if expected.spec.service in PROFILE_MENU:
            menu = PROFILE_MENU[expected.spec.service]
            named = [r for r in profiles[(router, menu)] if r.get("name") == package.profile_name]
            rates = [rate_number(r.get("rate-limit", "0")) for r in named]
            if rates != [rate_number(package.rate_limit)]:
                findings.add(
                    "router differs",
                    f"{name}: profile {package.profile_name!r} has rate-limit {rates}, want "
                    f"{package.rate_limit}",
                )


def _check_orphans(world: World, findings: Findings) -> None:
    """No object tagged as this tenant's without a subscriber (on that router) or package."""
    prefix = f"mikrosync:t={world.tenant_id}:"
    for index, sim in enumerate(world.sims):
        live = {
            row.id
            for row in world.rows.values()
            if world.router_index[row.router_id] == index and not row.pending_removal
        }
        for menu in SUBSCRIBER_MENUS:
            for row in sim.rows(menu):
                comment = row.get("comment", "")
                if not comment.startswith(prefix + "s="):
                    continue
                ref = comment.removeprefix(prefix + "s=")
                if not ref.isdigit() or int(ref) not in live:
                    findings.add("owned orphan", f"router {index} {menu} {row.get('name', row)}")
        for menu in ("/ppp/profile", "/ip/hotspot/user/profile"):
            for row in sim.rows(menu):
                comment = row.get("comment", "")
                if comment.startswith(prefix + "p="):
                    ref = comment.removeprefix(prefix + "p=")
                    if not ref.isdigit() or int(ref) not in world.packages:
                        findings.add("owned orphan", f"router {index} {menu} {row['name']}")


def _check_unmanaged(world: World, findings: Findings) -> None:
    """Every object that is not this tenant's is byte-for-byte as its owner left it."""
    for index, sim in enumerate(world.sims):
        ledger = world.ledger.rows[index]
        now_rows = {
            (menu, row[".id"]): dict(row)
            for menu in MENUS
            for row in sim.rows(menu)
            if not ours(row, world.tenant_id)
        }
        for key, before in ledger.items():
            after = now_rows.get(key)
            if after is None:
                findings.add("unmanaged touched", f"router {index} {key}: removed ({before})")
            elif after != before:
                changed = {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys()}
                changed = {k: v for k, v in changed.items() if v[0] != v[1]}
                findings.add("unmanaged touched", f"router {index} {key}: changed {changed}")
        for key in now_rows.keys() - ledger.keys():
            findings.add("unmanaged touched", f"router {index} {key}: appeared {now_rows[key]}")


def _online(sim: SimRouter) -> set[tuple[str, str]]:
    online = {("ppp", r["name"]) for r in sim.rows("/ppp/active")}
    return online | {("hotspot", r["user"]) for r in sim.rows("/ip/hotspot/active")}


def _foreign_logins(sim: SimRouter, tenant_id: int) -> set[tuple[str, str]]:
    logins = (("/ppp/secret", "ppp"), ("/ip/hotspot/user", "hotspot"))
    return {
        (kind, row["name"])
        for menu, kind in logins
        for row in sim.rows(menu)
        if not ours(row, tenant_id)
    }


def _check_sessions(world: World, findings: Findings) -> None:
    """Owed disconnects: no session of a suspended (or deleted) subscriber; and the foreign
    logins that were online at the start still are."""
    kind_of = {"pppoe": "ppp", "hotspot": "hotspot"}
    online = [_online(sim) for sim in world.sims]
    foreign_names = [_foreign_logins(sim, world.tenant_id) for sim in world.sims]
    for expected in world.model.slots.values():
        service = expected.spec.service
        if not expected.created or service not in kind_of or expected.id is None:
            continue
        row = world.rows.get(expected.id)
        if row is not None and row.sync_status == "error":
            continue
        index = world.router_index[expected.router_id]
        session = (kind_of[service], expected.spec.username)
        if session in foreign_names[index]:
            continue  # the name is a foreign login's too; its session is not ours to end
        owed = expected.deleted or expected.suspended_at(world.moment)
        if owed and session in online[index]:
            why = "deleted" if expected.deleted else "suspended"
            findings.add(
                "owed disconnect",
                f"subscriber {expected.id} {expected.spec.username!r} is {why} but online",
            )
    for index, before in enumerate(world.ledger.online):
        for session in sorted(before - online[index]):
            namesakes = [
                f"subscriber {e.id} ({'deleted' if e.deleted else 'live'}, {e.history})"
                for e in world.model.slots.values()
                if e.spec.username == session[1] and world.router_index[e.router_id] == index
            ]
            findings.add(
                "foreign session ended",
                f"router {index} {session}; subscribers of that name: {namesakes or 'none'}",
            )
