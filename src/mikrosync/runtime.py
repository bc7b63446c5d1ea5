"""What a running process holds: settings, the database engine, the vault and the job queue.

Built once per process from explicit Settings (no globals at import) and closed on shutdown.
The queue is created on first use, so commands that never push (e.g. `tenant create`) never
start the embedded Redis.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine

from mikrosync.clock import now
from mikrosync.db.session import SessionMaker, make_engine, make_sessionmaker
from mikrosync.jobs import names
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.redis import resolve_redis_url
from mikrosync.live.reader import LiveReader
from mikrosync.login_throttle import LoginThrottle
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings
from mikrosync.subscribers.intent import job_for, needs_sync
from mikrosync.subscribers.models import Subscriber

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    vault: Vault
    secret_key: str
    _queue_opened: bool = field(default=False, repr=False)
    _throttle_opened: bool = field(default=False, repr=False)
    _live_opened: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret_key = settings.resolved_secret_key()
        engine = make_engine(settings.resolved_database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            vault=Vault(secret_key, settings.previous_keys()),
            secret_key=secret_key,
        )

    @cached_property
    def redis_url(self) -> str:
        return resolve_redis_url(self.settings.redis_url, self.settings.data_dir)

    @cached_property
    def queue(self) -> JobQueue:
        self._queue_opened = True
        return JobQueue(
            self.redis_url, prefix=self.settings.queue_prefix, attempts=self.settings.sync_attempts
        )

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        self._throttle_opened = True
        return LoginThrottle(self.redis_url, prefix=self.settings.queue_prefix)

    @cached_property
    def live(self) -> LiveReader:
        """Cached reads of who is online and of router resources (the console's, not sync's)."""
        self._live_opened = True
        return LiveReader(self.sessionmaker, self.vault, self.settings)

    async def hint(self, subscribers: Iterable[Subscriber]) -> None:
        """After a commit: push the job of each subscriber with an outstanding change, and a
        delayed expiry job at each (tenant, expiry instant) still to come.

        A failed push is logged, not raised: the row is already durable and `pending`, the
        sweeper pushes it again once its hint is stale (DESIGN §1.3), and the periodic expiry
        scan is the safety net of the delayed jobs.
        """
        subscribers = list(subscribers)
        jobs = [(job_for(s).value, s.id) for s in subscribers if needs_sync(s)]
        try:
            if len(jobs) == 1:
                await self.queue.push_subscriber(*jobs[0])
            elif jobs:
                await self.queue.push_subscribers(jobs)
            await self._schedule_expiry(subscribers)
        except QueueUnavailable as exc:
            log.warning(
                "job push failed (%s); the sweeper will push %d job(s) later", exc, len(jobs)
            )

    async def _schedule_expiry(self, subscribers: list[Subscriber]) -> None:
        moment = now().timestamp()
        instants = {
            (s.tenant_id, math.ceil(s.expires_at.timestamp()))
            for s in subscribers
            if s.expires_at is not None and not s.is_suspended and not s.pending_removal
        }
        for tenant_id, epoch in sorted(instants):
            delay_ms = max(0, int((epoch - moment) * 1000))
            if delay_ms:
                await self.queue.push(
                    names.PROCESS_EXPIRED,
                    {"tenant_id": tenant_id},
                    job_id=names.expiry_job_id(tenant_id, epoch),
                    delay_ms=delay_ms,
                )
            else:
                # Already due: run at once, merged with the tenant's other pending run.
                await self.queue.push(
                    names.PROCESS_EXPIRED,
                    {"tenant_id": tenant_id},
                    dedup_id=names.tenant_expiry_dedup_id(tenant_id),
                )

    async def sync_package(self, package_id: int) -> None:
        """Push `syncPackage` after a package was created or changed (best effort, like hint)."""
        try:
            await self.queue.push(
                names.SYNC_PACKAGE,
                {"package_id": package_id},
                dedup_id=names.package_dedup_id(package_id),
            )
        except QueueUnavailable as exc:
            log.warning(
                "syncPackage push failed (%s); profiles follow with the next converge "
                "or reconciliation",
                exc,
            )

    async def push_voucher_batch(self, batch_id: int) -> None:
        """Push `syncVoucherBatch` after a batch was created, deleted or retried (best effort:
        the voucher scan re-pushes a batch whose hint went stale)."""
        try:
            await self.queue.push(
                names.SYNC_VOUCHER_BATCH,
                {"batch_id": batch_id},
                dedup_id=names.voucher_batch_dedup_id(batch_id),
            )
        except QueueUnavailable as exc:
            log.warning("syncVoucherBatch push failed (%s); the voucher scan pushes it later", exc)

    async def close(self) -> None:
        if self._queue_opened:
            await self.queue.close()
        if self._throttle_opened:
            await self.login_throttle.close()
        if self._live_opened:
            await self.live.close()
        await self.engine.dispose()
