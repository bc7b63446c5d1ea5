"""What a running process holds: settings, the database engine, the vault, the job queue, the
login throttle and the way to its routers. The one composition root of every process (the
api+web app, the worker, each CLI command).

Built once per process from explicit Settings (no globals at import) and closed on shutdown.
The queue and the throttle are created on first use, so commands that never push (e.g.
`tenant create`) never start the embedded Redis.

A Runtime is also the sync engine's `SyncContext` (`mikrosync.sync.context`): it has the
sessionmaker, vault and settings, and reaches routers through its `RouterAccess`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from mikrosync.db.admission import SessionAdmission
from mikrosync.db.counters import RedisCounters
from mikrosync.db.session import (
    SessionMaker,
    make_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.redis import resolve_redis_url
from mikrosync.live.reader import LiveReader
from mikrosync.routeros import RouterClient, RouterConfig
from mikrosync.routers.models import Router
from mikrosync.security.passwords import use_hashing
from mikrosync.security.throttle import LoginThrottle
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings
from mikrosync.sync.router_access import RouterAccess


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    read_sessionmaker: SessionMaker
    """For requests that only read (`db/session.py: make_read_sessionmaker`)."""
    vault: Vault
    secret_key: str
    routers: RouterAccess = field(repr=False)
    request_sessions: SessionAdmission = field(default_factory=SessionAdmission, repr=False)
    """Fair admission of API and console requests to the pool (`db/admission.py`)."""
    _redis: _RedisUsers = field(default_factory=lambda: _RedisUsers(), repr=False)
    _live: list[LiveReader] = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        use_hashing(settings.password_hashing)
        secret_key = settings.resolved_secret_key()
        engine = make_engine(settings.resolved_database_url)
        vault = Vault(secret_key, settings.previous_keys())
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            read_sessionmaker=make_read_sessionmaker(engine),
            vault=vault,
            secret_key=secret_key,
            routers=RouterAccess(vault, settings),
        )

    @property
    def redis_url(self) -> str:
        if self._redis.url is None:
            self._redis.url = resolve_redis_url(self.settings.redis_url, self.settings.data_dir)
        return self._redis.url

    @property
    def queue(self) -> JobQueue:
        if self._redis.queue is None:
            self._redis.queue = JobQueue(
                self.redis_url,
                prefix=self.settings.queue_prefix,
                attempts=self.settings.sync_attempts,
            )
        return self._redis.queue

    @property
    def counters(self) -> RedisCounters:
        """The /metrics counters, in Redis under the queue prefix (`mikrosync.db.counters`)."""
        if self._redis.counters is None:
            self._redis.counters = RedisCounters(self.redis_url, prefix=self.settings.queue_prefix)
        return self._redis.counters

    @property
    def login_throttle(self) -> LoginThrottle:
        if self._redis.throttle is None:
            self._redis.throttle = LoginThrottle(self.redis_url, prefix=self.settings.queue_prefix)
        return self._redis.throttle

    @property
    def live(self) -> LiveReader:
        """Cached reads of who is online and of router resources (the console's, not sync's)."""
        if not self._live:
            self._live.append(LiveReader(self.sessionmaker, self.vault, self.settings))
        return self._live[0]

    # -- router access (the SyncContext half) ---------------------------------------------------

    def client(self, router: Router) -> RouterClient:
        return self.routers.client(router)

    def router_config(self, router: Router) -> RouterConfig:
        return self.routers.router_config(router)

    def known_down(self, router_id: int) -> bool:
        return self.routers.known_down(router_id)

    def mark_down(self, router_id: int) -> None:
        self.routers.mark_down(router_id)

    def mark_up(self, router_id: int) -> None:
        self.routers.mark_up(router_id)

    @asynccontextmanager
    async def private_routers(self, settings: Settings | None = None) -> AsyncIterator[Runtime]:
        """This Runtime with router pools of its own, closed on exit: for one-off runs (a
        request's "reconcile now" or "test connection", a CLI command), so a web process keeps
        no router connections between requests. The database, vault and queue are shared;
        `settings` (default: this Runtime's) replaces the router timeouts and limits."""
        chosen = settings or self.settings
        private = dataclasses.replace(
            self, settings=chosen, routers=RouterAccess(self.vault, chosen)
        )
        try:
            yield private
        finally:
            await private.routers.close()

    async def close(self) -> None:
        for reader in self._live:
            await reader.close()
        await self.routers.close()
        await self._redis.close()
        await self.engine.dispose()


@dataclass
class _RedisUsers:
    """What a Runtime opened on Redis, made on first use; shared with its private copies."""

    url: str | None = None
    queue: JobQueue | None = None
    throttle: LoginThrottle | None = None
    counters: RedisCounters | None = None

    async def close(self) -> None:
        if self.counters is not None:
            await self.counters.close()
        if self.queue is not None:
            await self.queue.close()
        if self.throttle is not None:
            await self.throttle.close()
