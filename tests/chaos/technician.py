"""A technician at the routers' consoles, through librouteros, while the load runs; and the
ledger of every object that is NOT mikrosync's, which must end byte-for-byte as it was left.

The technician edits mikrosync's objects (reconciliation must repair them) and objects that
are not (nobody may touch those). The ledger is written only by the technician, from the
router's own tables right after each of its commands, whatever the command's outcome (a
ghost or dropped reply still applied it; a trap did not).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import librouteros

from mikrosync.simulator import SimRouter
from tests.chaos.plan import FOREIGN_SECRETS, TechAction, TechKind

ROUTER_PASSWORD = "router-pw"
# Every menu mikrosync writes to; the ledger covers all of their foreign rows.
MENUS = (
    "/ppp/secret",
    "/ppp/profile",
    "/ip/hotspot/user",
    "/ip/hotspot/user/profile",
    "/queue/simple",
    "/ip/firewall/address-list",
)
LOGIN_MENUS = {"/ppp/secret": "ppp", "/ip/hotspot/user": "hotspot"}
LOGINS = tuple(LOGIN_MENUS)
# A stripped tag is a race with an in-flight converge (it read the object just before):
# the object is entered in the ledger once such a converge has certainly finished.
DETAG_SETTLE_S = 6.0
TECH_TIMEOUT_S = 10.0

Key = tuple[str, str]  # (menu, .id)


def _enabled(row: dict[str, str]) -> bool:
    return row.get("disabled") != "true"


def _disabled(row: dict[str, str]) -> bool:
    return row.get("disabled") == "true"


def ours(row: dict[str, str], tenant_id: int) -> bool:
    return row.get("comment", "").startswith(f"mikrosync:t={tenant_id}:")


def tagged_subscriber(row: dict[str, str], tenant_id: int) -> bool:
    return row.get("comment", "").startswith(f"mikrosync:t={tenant_id}:s=")


@dataclass
class Ledger:
    """Per router: the rows that are not this tenant's, as last left by someone allowed to."""

    rows: list[dict[Key, dict[str, str]]] = field(default_factory=list)
    added: list[list[Key]] = field(default_factory=list)
    """Objects the technician added (the only foreign ones it removes again)."""
    online: list[set[tuple[str, str]]] = field(default_factory=list)
    """Foreign logins online at the start: nobody may end their sessions."""

    def take(self, sims: list[SimRouter], tenant_id: int) -> None:
        for sim in sims:
            snapshot: dict[Key, dict[str, str]] = {}
            for menu in MENUS:
                for row in sim.rows(menu):
                    if not ours(row, tenant_id):
                        snapshot[(menu, row[".id"])] = dict(row)
            self.rows.append(snapshot)
            self.added.append([])
            online = {("ppp", r["name"]) for r in sim.rows("/ppp/active")}
            online |= {("hotspot", r["user"]) for r in sim.rows("/ip/hotspot/active")}
            self.online.append(online)

    def refresh(self, router: int, sim: SimRouter, key: Key) -> None:
        """Record what the router holds now for one object the technician just wrote."""
        menu, item_id = key
        row = next((r for r in sim.rows(menu) if r[".id"] == item_id), None)
        if row is None:
            self.rows[router].pop(key, None)
        else:
            self.rows[router][key] = dict(row)


def seed_foreign(sim: SimRouter, router: int) -> None:
    """What a router held before mikrosync came: logins, queues, lists and profiles of the
    ISP's own, some with comments that look almost like an owner tag, one of another tenant."""
    sim.seed_secrets(FOREIGN_SECRETS)
    sim.add_row("/ppp/profile", {"name": "vip", "rate-limit": "100M/100M"})
    sim.add_row("/ip/hotspot/user/profile", {"name": "guest", "rate-limit": "1M/1M"})
    sim.add_row("/ip/hotspot/user", {"name": f"lobby-{router}", "password": "x"})
    sim.add_row(
        "/queue/simple",
        {"name": "uplink", "target": "192.168.100.0/24", "max-limit": "1G/1G"},
    )
    sim.add_row(
        "/queue/simple",
        {
            "name": "almost-ours",
            "target": "192.168.101.1",
            "max-limit": "5M/5M",
            "comment": "mikrosync:t=1",  # no role: not a tag
        },
    )
    sim.add_row(
        "/ppp/secret",
        {"name": "other-tenant", "password": "x", "comment": "mikrosync:t=999999:s=1"},
    )
    sim.add_row(
        "/ip/firewall/address-list",
        {"list": "mikrosync-blocked", "address": "192.168.102.7", "comment": "blocked by hand"},
    )
    sim.add_row("/ip/firewall/address-list", {"list": "bogons", "address": "192.168.103.0/24"})
    for index in range(1, FOREIGN_SECRETS + 1):
        sim.dial_in("ppp", f"seed{index:05d}")


@dataclass
class Technician:
    sims: list[SimRouter]
    tenant_id: int
    seed: int
    ledger: Ledger
    done: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    _apis: dict[int, Any] = field(default_factory=dict)
    _settling: list[asyncio.Task[None]] = field(default_factory=list)

    async def api(self, router: int) -> Any:
        if router not in self._apis:
            sim = self.sims[router]
            self._apis[router] = await librouteros.async_connect(
                sim.host, "admin", ROUTER_PASSWORD, port=sim.port, timeout=TECH_TIMEOUT_S
            )
        return self._apis[router]

    async def drop(self, router: int) -> None:
        api = self._apis.pop(router, None)
        if api is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to close cleanly
                await api.close()

    async def close(self) -> None:
        for task in self._settling:
            await task
        for router in list(self._apis):
            await self.drop(router)

    async def command(self, router: int, path: str, verb: str, **words: Any) -> str:
        """One console command; returns `ret` (the new id of an add)."""
        api = await self.api(router)
        rows = [row async for row in api.path(path)(verb, **words)]
        return str(rows[0].get("ret", "")) if rows else ""

    async def act(self, action: TechAction) -> None:
        kind = str(action.kind)
        rng = random.Random(self.seed * 1_000_003 + action.index)
        handler = self._handlers()[action.kind]
        try:
            acted = await asyncio.wait_for(handler(action, rng), TECH_TIMEOUT_S * 2)
        except Exception:
            # A fault hit the console too (ghost, drop, trap, router down...): reconnect next
            # time; the ledger was refreshed from the router's tables either way.
            self.failed[kind] += 1
            await self.drop(action.router)
            return
        if acted:
            self.done[kind] += 1
        else:
            self.skipped[kind] += 1

    def _handlers(self) -> dict[TechKind, Callable[[TechAction, random.Random], Awaitable[bool]]]:
        return {
            TechKind.OUR_DISABLE: self.our_disable,
            TechKind.OUR_ENABLE_DIAL: self.our_enable_dial,
            TechKind.OUR_PROFILE: self.our_profile,
            TechKind.OUR_PASSWORD: self.our_password,
            TechKind.OUR_REMOVE: self.our_remove,
            TechKind.OUR_RENAME: self.our_rename,
            TechKind.OUR_QUEUE_LIMIT: self.our_queue_limit,
            TechKind.OUR_PROFILE_RATE: self.our_profile_rate,
            TechKind.FAKE_ORPHAN: self.fake_orphan,
            TechKind.DETAG: self.detag,
            TechKind.FOREIGN_ADD: self.foreign_add,
            TechKind.FOREIGN_EDIT: self.foreign_edit,
            TechKind.FOREIGN_REMOVE: self.foreign_remove,
        }

    # -- choosing -----------------------------------------------------------------------------

    def pick_ours(
        self,
        router: int,
        menus: tuple[str, ...],
        rng: random.Random,
        where: Callable[[dict[str, str]], bool] = lambda row: True,
    ) -> tuple[str, dict[str, str]] | None:
        sim = self.sims[router]
        found = [
            (menu, row)
            for menu in menus
            for row in sim.rows(menu)
            if tagged_subscriber(row, self.tenant_id) and where(row)
        ]
        return rng.choice(found) if found else None

    # -- mikrosync's objects --------------------------------------------------------------------

    async def _on_ours(
        self,
        action: TechAction,
        rng: random.Random,
        menus: tuple[str, ...],
        verb: str,
        *,
        where: Callable[[dict[str, str]], bool] = lambda row: True,
        **values: Any,
    ) -> tuple[str, dict[str, str]] | None:
        """Run one console command on one of mikrosync's objects: (menu, row) acted on."""
        picked = self.pick_ours(action.router, menus, rng, where)
        if picked is not None:
            menu, row = picked
            await self.command(action.router, menu, verb, **{".id": row[".id"]}, **values)
        return picked

    async def our_disable(self, action: TechAction, rng: random.Random) -> bool:
        done = await self._on_ours(action, rng, LOGINS, "set", where=_enabled, disabled=True)
        return done is not None

    async def our_enable_dial(self, action: TechAction, rng: random.Random) -> bool:
        """Lift a suspension by hand; the customer's router dials in at once."""
        done = await self._on_ours(action, rng, LOGINS, "set", where=_disabled, disabled=False)
        if done is None:
            return False
        menu, row = done
        self.sims[action.router].dial_in(LOGIN_MENUS[menu], row["name"])
        return True

    async def our_profile(self, action: TechAction, rng: random.Random) -> bool:
        return await self._on_ours(action, rng, LOGINS, "set", profile="default") is not None

    async def our_password(self, action: TechAction, rng: random.Random) -> bool:
        password = f"by-hand-{action.index}"
        return await self._on_ours(action, rng, LOGINS, "set", password=password) is not None

    async def our_queue_limit(self, action: TechAction, rng: random.Random) -> bool:
        limit: dict[str, Any] = {"max-limit": "1M/1M"}
        return await self._on_ours(action, rng, ("/queue/simple",), "set", **limit) is not None

    async def our_remove(self, action: TechAction, rng: random.Random) -> bool:
        menus = (*LOGINS, "/queue/simple", "/ip/firewall/address-list")
        return await self._on_ours(action, rng, menus, "remove") is not None

    async def our_rename(self, action: TechAction, rng: random.Random) -> bool:
        name = f"renamed-{self.seed}-{action.index}"
        return await self._on_ours(action, rng, LOGINS, "set", name=name) is not None

    async def our_profile_rate(self, action: TechAction, rng: random.Random) -> bool:
        sim = self.sims[action.router]
        prefix = f"mikrosync:t={self.tenant_id}:p="
        found = [
            (menu, row)
            for menu in ("/ppp/profile", "/ip/hotspot/user/profile")
            for row in sim.rows(menu)
            if row.get("comment", "").startswith(prefix)
        ]
        if not found:
            return False
        menu, row = rng.choice(found)
        await self.command(action.router, menu, "set", **{".id": row[".id"], "rate-limit": "1M/1M"})
        return True

    async def fake_orphan(self, action: TechAction, rng: random.Random) -> bool:
        """An object tagged as this tenant's, for a subscriber or package that never existed
        (a restored backup, a copy from another router): an owned orphan to be removed."""
        ref = 100_000_000 + action.index
        comment = f"mikrosync:t={self.tenant_id}:s={ref}"
        choice = rng.randrange(3)
        if choice == 0:
            await self.command(
                action.router,
                "/ppp/secret",
                "add",
                name=f"orphan-{self.seed}-{action.index}",
                password="x",
                service="pppoe",
                comment=comment,
            )
        elif choice == 1:
            await self.command(
                action.router,
                "/queue/simple",
                "add",
                name=f"orphan-q-{self.seed}-{action.index}",
                target=f"172.31.{action.index % 250}.{action.index // 250 % 250 + 1}",
                comment=comment,
            )
        else:
            await self.command(
                action.router,
                "/ppp/profile",
                "add",
                name=f"orphan-p-{self.seed}-{action.index}",
                comment=f"mikrosync:t={self.tenant_id}:p={ref}",
            )
        return True

    async def detag(self, action: TechAction, rng: random.Random) -> bool:
        """Overwrite an owned login's comment: from then on it is not mikrosync's."""
        picked = self.pick_ours(action.router, tuple(LOGIN_MENUS), rng)
        if picked is None:
            return False
        menu, row = picked
        key = (menu, row[".id"])
        try:
            await self.command(
                action.router,
                menu,
                "set",
                **{".id": row[".id"], "comment": f"taken over by hand {action.index}"},
            )
        finally:
            self._settling.append(asyncio.create_task(self._settle(action.router, key)))
        return True

    async def _settle(self, router: int, key: Key) -> None:
        await asyncio.sleep(DETAG_SETTLE_S)
        row = next((r for r in self.sims[router].rows(key[0]) if r[".id"] == key[1]), None)
        if row is not None and not ours(row, self.tenant_id):
            self.ledger.rows[router][key] = dict(row)

    # -- foreign objects ----------------------------------------------------------------------

    async def foreign_add(self, action: TechAction, rng: random.Random) -> bool:
        n = action.index
        name = f"tech-{self.seed}-{n}"
        address = f"172.16.{n % 250}.{n // 250 % 250 + 1}"
        menus: dict[str, dict[str, Any]] = {
            "/ppp/secret": {"name": name, "password": "tech", "service": "pppoe"},
            "/ip/hotspot/user": {"name": name, "password": "tech", "comment": "front desk"},
            "/queue/simple": {"name": name, "target": address, "max-limit": "2M/2M"},
            "/ip/firewall/address-list": {
                "list": rng.choice(("mikrosync-blocked", "tech-list")),
                "address": address,
                "comment": f"by hand {n}",
            },
            "/ppp/profile": {"name": name, "rate-limit": "3M/3M"},
        }
        menu = rng.choice(sorted(menus))
        values = menus[menu]
        sim = self.sims[action.router]
        try:
            await self.command(action.router, menu, "add", **values)
        finally:
            match = "address" if menu == "/ip/firewall/address-list" else "name"
            for row in sim.rows(menu):
                if row.get(match) == values[match] and not ours(row, self.tenant_id):
                    key = (menu, row[".id"])
                    self.ledger.refresh(action.router, sim, key)
                    self.ledger.added[action.router].append(key)
        return True

    async def foreign_edit(self, action: TechAction, rng: random.Random) -> bool:
        ledger = self.ledger.rows[action.router]
        keys = sorted(key for key in ledger if key[0] != "/ip/firewall/address-list")
        if not keys:
            return False
        key = rng.choice(keys)
        menu, item_id = key
        values: dict[str, Any] = {"comment": f"edited by hand {action.index}"}
        if menu in LOGIN_MENUS and rng.random() < 0.5:
            values = {"password": f"tech-{action.index}"}
        elif menu == "/queue/simple" and rng.random() < 0.5:
            values = {"max-limit": f"{1 + action.index % 9}M/{1 + action.index % 9}M"}
        try:
            await self.command(action.router, menu, "set", **{".id": item_id}, **values)
        finally:
            self.ledger.refresh(action.router, self.sims[action.router], key)
        return True

    async def foreign_remove(self, action: TechAction, rng: random.Random) -> bool:
        added = [
            k for k in self.ledger.added[action.router] if k in self.ledger.rows[action.router]
        ]
        if not added:
            return False
        key = rng.choice(added)
        try:
            await self.command(action.router, key[0], "remove", **{".id": key[1]})
        finally:
            self.ledger.refresh(action.router, self.sims[action.router], key)
        return True


@dataclass
class Customers:
    """Subscribers' own routers dialling in now and then (there are sessions to end)."""

    sims: list[SimRouter]
    tenant_id: int
    seed: int
    dialled: int = 0

    async def run(self, stop: asyncio.Event, every_s: float = 0.05) -> None:
        rng = random.Random(self.seed + 7)
        while not stop.is_set():
            router = rng.randrange(len(self.sims))
            sim = self.sims[router]
            menu = rng.choice(tuple(LOGIN_MENUS))
            logins = [
                row["name"]
                for row in sim.rows(menu)
                if tagged_subscriber(row, self.tenant_id) and row.get("disabled") != "true"
            ]
            if logins and sim.dial_in(LOGIN_MENUS[menu], rng.choice(logins)):
                self.dialled += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
