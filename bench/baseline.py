"""The seed's design, re-implemented faithfully for comparison; never shipped in the product.

The seed (a Node.js system, see SEED_CHECKLIST.md) ran ONE worker on the `mikrotik-sync`
queue with concurrency 1. Each job loaded the user (with its package and router) from the
database, opened a NEW API connection and logged in, printed the user, then wrote: `add` when
absent, `set` otherwise (disabled for a suspension, plus removing the live session), closed
the connection, and stored `syncStatus`. This module does exactly that with librouteros
directly, on the same queue the API pushes to (the product's queue layer, as the seed used
BullMQ), against the same database rows.

Run by the benchmark as `python -m bench.baseline` with the stack's MIKROSYNC_* environment.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import librouteros
from sqlalchemy import select, update

from mikrosync.clock import now
from mikrosync.jobs import names
from mikrosync.jobs.worker import JobInfo, SyncWorker
from mikrosync.packages.models import Package
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber, SyncStatus

TIMEOUT_S = 15.0


class SeedWorker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def job(self, job: JobInfo) -> str:
        if "subscriber_id" in job.data:
            return await self.subscriber(int(job.data["subscriber_id"]))
        # Our producer groups a router's many pushes into one job ({router_id,
        # subscriber_ids}, capped); the seed had one job per subscriber, so it takes them one
        # by one, then the router's other owed rows (what our worker's drain loop does).
        router_id = int(job.data["router_id"])
        async with self.runtime.sessionmaker() as session:
            owed = await session.scalars(
                select(Subscriber.id).where(
                    Subscriber.router_id == router_id,
                    Subscriber.sync_status != SyncStatus.SYNCED,
                )
            )
            ids = list(dict.fromkeys([*job.data["subscriber_ids"], *owed.all()]))
        for subscriber_id in ids:
            await self.subscriber(int(subscriber_id))
        return f"{len(ids)} subscribers"

    async def subscriber(self, subscriber_id: int) -> str:
        async with self.runtime.sessionmaker() as session:
            subscriber = await session.get(Subscriber, subscriber_id)
            if subscriber is None:
                return "gone"
            package = await session.get(
                Package, subscriber.pending_package_id or subscriber.package_id
            )
            router = await session.get(Router, subscriber.router_id)
            assert package is not None and router is not None
        vault = self.runtime.vault
        api = await librouteros.async_connect(
            router.host,
            router.username,
            vault.decrypt(router.password_encrypted),
            port=router.port,
            timeout=TIMEOUT_S,
            encoding="utf-8",
        )
        try:
            await self._write(api, subscriber, package.profile_name)
        finally:
            await api.close()
        async with self.runtime.sessionmaker() as session:
            await session.execute(
                update(Subscriber)
                .where(Subscriber.id == subscriber_id)
                .values(
                    sync_status=SyncStatus.SYNCED,
                    synced_version=subscriber.desired_version,
                    pending_package_id=None,
                    package_id=package.id,
                    last_synced_at=now(),
                )
            )
            await session.commit()
        return "synced"

    async def _write(self, api: librouteros.AsyncApi, subscriber: Subscriber, profile: str) -> None:
        secrets = api.path("ppp", "secret")
        found = [
            row async for row in api.rawCmd("/ppp/secret/print", f"?name={subscriber.username}")
        ]
        password = self.runtime.vault.decrypt(subscriber.password_encrypted or "")
        fields = {
            "name": subscriber.username,
            "password": password,
            "profile": profile,
            "service": "pppoe",
            "disabled": subscriber.is_suspended,
            "comment": f"mikrosync:t={subscriber.tenant_id}:s={subscriber.id}",
        }
        if not found:
            await secrets.add(**fields)
        else:
            await secrets.update(**{".id": found[0][".id"], **fields})
        if subscriber.is_suspended or subscriber.pending_package_id is not None:
            active = [
                row async for row in api.rawCmd("/ppp/active/print", f"?name={subscriber.username}")
            ]
            if active:
                await api.path("ppp", "active").remove(*(row[".id"] for row in active))


async def main() -> None:
    settings = Settings()
    runtime = Runtime.build(settings)
    seed = SeedWorker(runtime)
    worker = SyncWorker(
        runtime.redis_url,
        dict.fromkeys(names.SUBSCRIBER_JOBS, seed.job),
        concurrency=1,
        prefix=settings.queue_prefix,
        attempts=settings.sync_attempts,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print("baseline worker ready", file=sys.stderr, flush=True)  # noqa: T201
    try:
        await worker.run(stop)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
