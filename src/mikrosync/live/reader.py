"""Reading who is online (`/ppp/active`, `/ip/hotspot/active`) and `/system/resource`, cached.

Who calls it: the web views and the API, through `Runtime.live`. A failed read is an answer too
(`RouterLive.error`, in plain words), cached like a success so an offline router is not asked
again by every poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from mikrosync.db.session import SessionMaker
from mikrosync.routeros import (
    AuthError,
    ConnectError,
    RouterOSError,
    RouterTimeout,
    SessionLimit,
    TlsError,
)
from mikrosync.routeros.connection import Connection
from mikrosync.routeros.resources import ACTIVE_NAME_FIELD, ACTIVE_PATHS, ActiveKind
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings
from mikrosync.sync.router_access import RouterAccess


@dataclass(frozen=True)
class LiveSession:
    """One online login, as the console shows it."""

    kind: ActiveKind
    id: str
    name: str
    address: str
    caller_id: str
    uptime: str
    bytes_in: int | None
    bytes_out: int | None


@dataclass(frozen=True)
class Resource:
    """The parts of `/system/resource` an operator looks at."""

    board: str
    version: str
    uptime: str
    cpu_load: int | None
    free_memory: int | None
    total_memory: int | None

    @property
    def memory_used_percent(self) -> int | None:
        if not self.total_memory or self.free_memory is None:
            return None
        return round(100 * (self.total_memory - self.free_memory) / self.total_memory)


@dataclass(frozen=True)
class RouterLive:
    router_id: int
    read_at: float
    resource: Resource | None = None
    sessions: tuple[LiveSession, ...] = ()
    error: str | None = None

    def of_user(self, name: str) -> list[LiveSession]:
        return [s for s in self.sessions if s.name == name]


def plain_words(exc: RouterOSError, router: Router) -> str:
    """What a failed read means, for an operator (the router's or the socket's words after)."""
    where = f"{router.host}:{router.port}"
    if isinstance(exc, ConnectError):
        why = f"cannot connect to {where}: is the router on, and its API service enabled?"
    elif isinstance(exc, RouterTimeout):
        why = f"{where} did not answer in time (down, or the network is slow)"
    elif isinstance(exc, AuthError):
        why = "the router refused the API user name or password stored here"
    elif isinstance(exc, TlsError):
        why = "the router's TLS certificate is not the one expected"
    elif isinstance(exc, SessionLimit):
        why = "the router closed the connection at login (API session limit, or restarting)"
    else:
        why = "the router could not be read"
    return f"{why} ({exc.message})"


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _session(kind: ActiveKind, row: Mapping[str, str]) -> LiveSession:
    if kind == "ppp":
        # RouterOS prints PPP counters as "tx/rx" in `bytes` (seen from the router).
        tx, _, rx = row.get("bytes", "").partition("/")
        bytes_in, bytes_out = _int(rx), _int(tx)
        caller = row.get("caller-id", "")
    else:
        bytes_in, bytes_out = _int(row.get("bytes-in")), _int(row.get("bytes-out"))
        caller = row.get("mac-address", "")
    return LiveSession(
        kind=kind,
        id=row.get(".id", ""),
        name=row.get(ACTIVE_NAME_FIELD[kind], ""),
        address=row.get("address", ""),
        caller_id=caller,
        uptime=row.get("uptime", ""),
        bytes_in=bytes_in,
        bytes_out=bytes_out,
    )


def _resource(row: Mapping[str, str]) -> Resource:
    return Resource(
        board=row.get("board-name", ""),
        version=row.get("version", ""),
        uptime=row.get("uptime", ""),
        cpu_load=_int(row.get("cpu-load")),
        free_memory=_int(row.get("free-memory")),
        total_memory=_int(row.get("total-memory")),
    )


@dataclass
class LiveReader:
    """Cached live reads over a pool registry of its own."""

    sessionmaker: SessionMaker
    vault: Vault
    settings: Settings
    _routers: RouterAccess | None = field(default=None, repr=False)
    _cache: dict[int, RouterLive] = field(default_factory=dict)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    @property
    def routers(self) -> RouterAccess:
        """Router pools of the console's own, apart from the sync path's."""
        if self._routers is None:
            self._routers = RouterAccess(self.vault, self.settings)
        return self._routers

    async def read(self, router: Router, *, fresh: bool = False) -> RouterLive:
        """The router's live state, at most `live_cache_s` old (unless `fresh`)."""
        lock = self._locks.setdefault(router.id, asyncio.Lock())
        async with lock:  # concurrent polls of one router share one read
            cached = self._cache.get(router.id)
            if not fresh and cached is not None and self._young(cached):
                return cached
            result = await self._read(router)
            self._cache[router.id] = result
            return result

    def forget(self, router_id: int) -> None:
        self._cache.pop(router_id, None)

    def _young(self, live: RouterLive) -> bool:
        return time.monotonic() - live.read_at < self.settings.live_cache_s

    async def _read(self, router: Router) -> RouterLive:
        client = self.routers.client(router)

        async def read(session: Connection) -> RouterLive:
            resource = await session.run("/system/resource/print")
            sessions: list[LiveSession] = []
            for kind, path in ACTIVE_PATHS.items():
                sessions.extend(_session(kind, row) for row in await session.run(f"{path}/print"))
            return RouterLive(
                router.id,
                time.monotonic(),
                resource=_resource(resource[0] if resource else {}),
                sessions=tuple(sorted(sessions, key=lambda s: (s.kind, s.name))),
            )

        try:
            return await client.pool.run(read)
        except RouterOSError as exc:
            return RouterLive(router.id, time.monotonic(), error=plain_words(exc, router))

    async def disconnect(self, router: Router, kind: ActiveKind, session_id: str) -> str | None:
        """End one live session by its `.id`; returns the login it belonged to (None: gone)."""
        client = self.routers.client(router)
        path = ACTIVE_PATHS[kind]

        async def end(session: Connection) -> str | None:
            rows = await session.run(f"{path}/print", f"?.id={session_id}")
            if not rows:
                return None
            await session.run(f"{path}/remove", f"=.id={session_id}")
            return rows[0].get(ACTIVE_NAME_FIELD[kind], "")

        try:
            return await client.pool.run(end)
        finally:
            self.forget(router.id)

    async def close(self) -> None:
        if self._routers is not None:
            await self._routers.close()
