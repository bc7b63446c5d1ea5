"""Live sessions: subscribers dialling in and out, and values that advance with the clock.

RouterOS fills `/ppp/active` and `/ip/hotspot/active` itself; here a simulation hook
(`dial_in`) does it, never for a disabled or missing user. Removing an active entry (API
`remove`, or `kick`) ends the session and stamps the secret's `last-logged-out`. Uptimes and
byte counters are computed at print time from each session's start, so they advance without
a ticking task. The optional dialer brings random enabled users online at a fixed rate.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from mikrosync.simulator.store import Store
from mikrosync.simulator.tables import Row
from mikrosync.simulator.values import format_duration

__all__ = ["KINDS", "Live"]


@dataclass(frozen=True)
class SessionKind:
    """Where the users of one kind live and where their sessions show up."""

    users: str
    active: str
    user_key: str


KINDS = {
    "ppp": SessionKind("/ppp/secret", "/ppp/active", "name"),
    "hotspot": SessionKind("/ip/hotspot/user", "/ip/hotspot/active", "user"),
}
RX_PER_SECOND = 12_500
TX_PER_SECOND = 50_000
PACKET_SIZE = 500
ADMIN_KICK_REASON = "admin-request"


class Live:
    """Session bookkeeping for one router's store."""

    def __init__(self, store: Store, seed: int = 0) -> None:
        self.store = store
        self.clock: Callable[[], float] = time.monotonic
        """Replaceable in tests to make uptimes advance without sleeping."""
        self.started: dict[str, float] = {}
        self.counter = 0
        self.random = random.Random(seed)
        store.renderers["/ppp/active"] = self._render_ppp
        store.renderers["/ip/hotspot/active"] = self._render_hotspot
        store.renderers["/system/resource"] = self._render_resource
        store.remove_hooks["/ppp/active"] = lambda rows: self._ended("ppp", rows)
        store.remove_hooks["/ip/hotspot/active"] = lambda rows: self._ended("hotspot", rows)
        self._stamped: dict[str, tuple[dict[str, Row], int]] = {}
        for spec in KINDS.values():
            store.print_hooks[spec.active] = functools.partial(self._stamp_all, spec.active)

    # -- dialling -----------------------------------------------------------------------------

    def _user(self, kind: str, name: str) -> Row | None:
        table = self.store.table(KINDS[kind].users)
        item_id = table.find_by_name(name)
        return table.items[item_id] if item_id else None

    def _active_id(self, kind: str, name: str) -> str | None:
        # The active menus' name field is the user key ("name", hotspot "user"): indexed.
        return self.store.table(KINDS[kind].active).find_by_name(name)

    def dial_in(self, kind: str, name: str) -> bool:
        """Bring `name` online; False when missing, disabled or already online."""
        user = self._user(kind, name)
        if user is None or user.get("disabled") == "true" or self._active_id(kind, name):
            return False
        self.counter += 1
        n = self.counter
        mac = f"02:00:00:{n >> 16 & 0xFF:02X}:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}"
        address = user.get("remote-address") or user.get("address") or _pool_address(n)
        if kind == "ppp":
            service = user.get("service", "any")
            values = {
                "name": name,
                "service": "pppoe" if service == "any" else service,
                "caller-id": mac,
                "address": address,
                "encoding": "",
                "session-id": f"0x{0x81000000 + n:08X}",
                "limit-bytes-in": user.get("limit-bytes-in", "0"),
                "limit-bytes-out": user.get("limit-bytes-out", "0"),
                "radius": "false",
            }
            user["last-caller-id"] = mac
        else:
            values = {
                "server": "hotspot1" if user.get("server", "all") == "all" else user["server"],
                "user": name,
                "address": address,
                "mac-address": mac,
                "login-by": "http-chap",
                "idle-time": "0s",
                "idle-timeout": "none",
                "keepalive-timeout": "2m",
                "radius": "false",
                "blocked": "false",
            }
        item_id = self.store.add(KINDS[kind].active, values, trusted=True)
        self.started[item_id] = self.clock()
        return True

    def kick(self, kind: str, name: str, reason: str = ADMIN_KICK_REASON) -> bool:
        """End `name`'s session as if removed from the active menu; False if not online."""
        item_id = self._active_id(kind, name)
        if item_id is None:
            return False
        removed = self.store.table(KINDS[kind].active).remove([item_id])
        self._ended(kind, removed, reason)
        return True

    def _ended(self, kind: str, rows: list[Row], reason: str = ADMIN_KICK_REASON) -> None:
        for row in rows:
            elapsed = self.clock() - self.started.pop(row[".id"], self.clock())
            user = self._user(kind, row[KINDS[kind].user_key])
            if user is None:
                continue
            if kind == "ppp":
                user["last-logged-out"] = self.store.now_text()
                user["last-disconnect-reason"] = reason
            else:
                for key, rate in (("bytes-in", RX_PER_SECOND), ("bytes-out", TX_PER_SECOND)):
                    user[key] = str(int(user.get(key, "0")) + int(rate * elapsed))

    # -- print-time values --------------------------------------------------------------------

    def _elapsed(self, row: Row) -> float:
        return self.clock() - self.started.setdefault(row[".id"], self.clock())

    def _stamp_all(self, path: str) -> None:
        """What rendering every row of a print did: start the clock of any session without one
        (one added by hand or loaded). Only items added since the last pass can lack one."""
        table = self.store.table(path)
        seen = self._stamped.get(path)
        if seen is not None and seen[0] is table.items and seen[1] == table.next_id:
            return
        now = self.clock()
        for item_id in table.items:
            self.started.setdefault(item_id, now)
        self._stamped[path] = (table.items, table.next_id)

    def _render_ppp(self, row: Row) -> Row:
        seconds = self._elapsed(row)
        tx, rx = int(TX_PER_SECOND * seconds), int(RX_PER_SECOND * seconds)
        return {
            **row,
            "uptime": format_duration(seconds),
            "bytes": f"{tx}/{rx}",
            "packets": f"{tx // PACKET_SIZE}/{rx // PACKET_SIZE}",
        }

    def _render_hotspot(self, row: Row) -> Row:
        seconds = self._elapsed(row)
        rx, tx = int(RX_PER_SECOND * seconds), int(TX_PER_SECOND * seconds)
        return {
            **row,
            "uptime": format_duration(seconds),
            "bytes-in": str(rx),
            "bytes-out": str(tx),
            "packets-in": str(rx // PACKET_SIZE),
            "packets-out": str(tx // PACKET_SIZE),
        }

    def _render_resource(self, _row: Row) -> Row:
        store = self.store
        return {
            "uptime": format_duration(self.clock() - store.booted),
            "version": f"{store.version_text} (stable)",
            "build-time": "2025-02-10 10:00:00",
            "factory-software": "7.1",
            "free-memory": "819691520",
            "total-memory": "1073741824",
            "cpu": "Common",
            "cpu-count": "1",
            "cpu-frequency": "2099",
            "cpu-load": str(self.random.randint(0, 5)),
            "free-hdd-space": "17019092992",
            "total-hdd-space": "17040297984",
            "write-sect-since-reboot": "15160",
            "write-sect-total": "15160",
            "architecture-name": "x86_64",
            "board-name": "CHR",
            "platform": "MikroTik",
        }

    # -- background dialer --------------------------------------------------------------------

    def dial_random(self) -> bool:
        """Bring one random enabled, offline user (PPP or hotspot) online."""
        candidates = [
            (kind, row["name"])
            for kind, spec in KINDS.items()
            for row in self.store.table(spec.users).items.values()
            if row.get("disabled") != "true"
        ]
        online = {
            (kind, row[spec.user_key])
            for kind, spec in KINDS.items()
            for row in self.store.table(spec.active).items.values()
        }
        offline = [c for c in candidates if c not in online]
        if not offline:
            return False
        return self.dial_in(*self.random.choice(offline))

    async def run_dialer(self, rate: float) -> None:
        """Dial one user every 1/rate seconds, forever (cancelled by the router)."""
        while True:
            await asyncio.sleep(1.0 / rate)
            self.dial_random()


def _pool_address(n: int) -> str:
    """Addresses from 100.64.0.0/10 (CGNAT space, as ISPs' pools often are)."""
    return f"100.{64 + (n >> 16 & 0x3F)}.{n >> 8 & 0xFF}.{n & 0xFF}"
