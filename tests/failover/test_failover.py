"""Redis and PostgreSQL failover under load, with real processes (docs/deployment.md).

A Redis primary, its replica and three sentinels; a private PostgreSQL; `mikrosync serve` and
two `mikrosync worker`s configured with the `redis+sentinel://` URL; simulated routers. While
lanes of operators change subscribers through the API without pause:

- the Redis primary is SIGKILLed, the sentinels promote the replica, and the killed node comes
  back as the new primary's replica (so the next kill hits the other node);
- PostgreSQL is stopped (alternately `fast`, which ends every session, and `immediate`, a crash
  that the next start recovers from) and started again once the API has answered 503.

After each: `serve` and both workers are working again within `RECOVERY_S` (they were never
restarted), and while PostgreSQL was down every refused change got a 503 with the
database-unavailable message (never another 5xx, never a hang). At the end, once quiet: the
chaos suite's invariants (no change lost, every router holding exactly what the database says).
The figures go to the output and to `last-run.md` beside this file.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mikrosync.clock import now
from mikrosync.db import migrate
from mikrosync.packages.models import Package
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimConfig, SimRouter
from mikrosync.subscribers.models import Subscriber
from tests.chaos.harness import OWNER_PASSWORD, create_owner, post_created
from tests.chaos.infra import WorkerProcess, free_port, wait_ready
from tests.chaos.invariants import PackageInfo, World, check
from tests.chaos.model import Expected
from tests.chaos.plan import SlotSpec
from tests.chaos.technician import Ledger
from tests.failover.infra import REDIS_PASSWORD, PostgresServer, SentinelSet, wait_for
from tests.failover.load import API, REQUEST_BOUND_S, Load
from tests.plugins.core import TEST_SECRET_KEY
from tests.plugins.web import csrf_from

# Starts its own Redis, sentinels, PostgreSQL, serve and workers (tests/plugins/tiers.py).
pytestmark = pytest.mark.e2e

ROUNDS = 3
"""Redis primary kills and PostgreSQL restarts, each."""
RECOVERY_S = 30.0
OUTAGE_503S = 8
"""PostgreSQL stays down until the lanes have been answered 503 this many times."""
PROBE_SLOT = -1
ROUTERS = 3
WORKERS = 2
ROUTER_PASSWORD = "router-pw"
PACKAGES = {"pppoe": ("ppp-10m", "ppp-20m"), "hotspot": ("hs-2m", "hs-4m")}
LAST_RUN = Path(__file__).parent / "last-run.md"


@dataclass
class Round:
    fault: str
    outage_s: float
    """Redis: kill to promotion. PostgreSQL: stop to start."""
    api_s: float
    """From the end of the outage to the first change the API accepted."""
    workers_s: list[float]
    """From the end of the outage to each worker's first finished job."""
    synced_s: float
    """From the end of the outage to a change made then being on its router."""
    answered_503: int


@dataclass
class Figures:
    rounds: list[Round] = field(default_factory=list)
    changes: int = 0
    checked_on_router: int = 0
    subscribers: int = 0
    deleted: int = 0
    answered_503: int = 0
    slowest_request_s: float = 0.0
    quiesce_s: float = 0.0
    total_s: float = 0.0

    def markdown(self) -> str:
        lines = [
            "# Failover run (tests/failover/test_failover.py)",
            "",
            "| # | fault | outage s | API back s | workers back s | change synced s | 503s |",
            "|---|---|---|---|---|---|---|",
        ]
        for index, one in enumerate(self.rounds, 1):
            workers = " / ".join(f"{s:.1f}" for s in one.workers_s)
            lines.append(
                f"| {index} | {one.fault} | {one.outage_s:.1f} | {one.api_s:.1f} | {workers} "
                f"| {one.synced_s:.1f} | {one.answered_503} |"
            )
        lines += [
            "",
            f"- changes accepted and checked: {self.changes} on {self.subscribers} subscribers: "
            f"{self.deleted} deleted (checked gone from the database and their router), "
            f"{self.checked_on_router} live (checked against their router)",
            f"- answered 503 while PostgreSQL was down: {self.answered_503}; other 5xx: 0",
            f"- slowest request: {self.slowest_request_s:.2f} s (bound {REQUEST_BOUND_S:.0f} s)",
            f"- every subscriber synced {self.quiesce_s:.1f} s after the last fault; "
            f"whole test {self.total_s:.0f} s",
        ]
        return "\n".join(lines) + "\n"


class ServeProcess:
    """`mikrosync serve` as a subprocess, with the workers' environment."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mikrosync", "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Site:
    settings: Settings
    runtime: Runtime
    pg: PostgresServer
    redis: SentinelSet
    serve: ServeProcess
    workers: list[WorkerProcess]
    client: httpx.AsyncClient
    headers: dict[str, str]
    tenant_id: int
    sims: list[SimRouter]
    router_ids: list[int]
    packages: dict[str, list[int]]
    console: httpx.AsyncClient
    probe: Expected

    @property
    def probe_id(self) -> int:
        assert self.probe.id is not None
        return self.probe.id


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with AsyncExitStack() as stack:
        yield await _set_up(tmp_path, stack)


async def _set_up(tmp_path: Path, stack: AsyncExitStack) -> Site:
    pg = PostgresServer()
    stack.callback(pg.destroy)
    await asyncio.to_thread(pg.init)
    await asyncio.to_thread(pg.start)
    await asyncio.to_thread(migrate.upgrade, pg.url)
    redis_dir = Path(tempfile.mkdtemp(prefix="mikrosync-failover-redis-"))
    stack.callback(shutil.rmtree, redis_dir, ignore_errors=True)
    redis = SentinelSet(redis_dir)
    stack.callback(redis.stop)
    await redis.start()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=pg.url,
        secret_key=TEST_SECRET_KEY,
        redis_url=redis.url,
        queue_prefix=f"failover-{uuid.uuid4().hex[:8]}",
    )
    runtime = Runtime.build(settings)
    stack.push_async_callback(runtime.close)
    sims = []
    for index in range(ROUTERS):
        sim = SimRouter(SimConfig(username="admin", password=ROUTER_PASSWORD, seed=index))
        await sim.start()
        stack.push_async_callback(sim.stop)
        sims.append(sim)
    workers = [
        WorkerProcess(settings, tmp_path / f"worker-{index}.log", concurrency=4)
        for index in range(WORKERS)
    ]
    env = workers[0].env()
    serve = ServeProcess(env, tmp_path / "serve.log")
    stack.callback(serve.stop)
    for worker in workers:
        worker.start()
        stack.push_async_callback(worker.stop)
    await wait_ready(serve.base)
    client = httpx.AsyncClient(base_url=serve.base)
    stack.push_async_callback(client.aclose)
    tenant_id, email, headers = await create_owner(runtime, client, "failover")
    router_ids = [
        await post_created(
            client,
            headers,
            "/routers",
            {
                "name": f"failover-{index}",
                "host": sim.host,
                "port": sim.port,
                "username": "admin",
                "password": ROUTER_PASSWORD,
            },
        )
        for index, sim in enumerate(sims)
    ]
    packages = {
        service: [
            await post_created(
                client,
                headers,
                "/packages",
                {"name": name, "service": service, "rate_limit": f"{n + 1}M/1M", "price": "5"},
            )
            for n, name in enumerate(names)
        ]
        for service, names in PACKAGES.items()
    }
    console = httpx.AsyncClient(base_url=serve.base)
    stack.push_async_callback(console.aclose)
    token = csrf_from((await console.get("/login")).text)
    form = {"email": email, "password": OWNER_PASSWORD, "csrf_token": token}
    assert (await console.post("/login", data=form)).status_code == 303
    probe = Expected(SlotSpec(PROBE_SLOT, "pppoe", 0, "probe", 0), router_ids[0])
    body = {
        "router_id": router_ids[0],
        "package_id": packages["pppoe"][0],
        "service": "pppoe",
        "username": "probe",
        "password": "probe-0",
    }
    created = await client.post(f"{API}/subscribers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    probe.accept("create", created.json(), password="probe-0")
    site = Site(
        settings, runtime, pg, redis, serve, workers, client, headers, tenant_id, sims,
        router_ids, packages, console, probe,
    )  # fmt: skip
    await wait_for(lambda: _on_router(site, "probe-0"), timeout=60, what="the workers to start")
    return site


async def _on_router(site: Site, password: str) -> bool:
    rows = site.sims[0].rows("/ppp/secret")
    return any(row.get("name") == "probe" and row.get("password") == password for row in rows)


async def _job_logged(worker: WorkerProcess, offset: int) -> bool:
    """Whether the worker logged a finished job after byte `offset` of its log."""
    with worker.log_path.open("rb") as log:
        log.seek(offset)
        return b" attempt " in log.read()


async def _recovery(
    site: Site, load: Load, fault: str, outage_s: float, marks: Any, before_503: int
) -> Round:
    """Wait (bounded by RECOVERY_S) for the API to accept a change, each worker to finish a
    job, and a change made now to reach its router; the seconds each took from `healed`."""
    healed, offsets = marks
    accepted_before = sum(load.seen.accepted.values())

    async def api_back() -> bool:
        return sum(load.seen.accepted.values()) > accepted_before

    await wait_for(api_back, timeout=RECOVERY_S, what=f"the API after {fault}")
    api_s = max(0.0, load.seen.last_accept - healed)
    workers_s = []
    for worker, offset in zip(site.workers, offsets, strict=True):
        await wait_for(
            lambda w=worker, o=offset: _job_logged(w, o),  # type: ignore[misc]
            timeout=RECOVERY_S,
            what=f"{worker.log_path.name} to finish a job after {fault}",
        )
        workers_s.append(time.monotonic() - healed)
        assert worker.alive, f"{worker.log_path.name} died:\n{worker.tail()}"
    password = f"probe-{uuid.uuid4().hex[:6]}"
    answer = await site.client.patch(
        f"{API}/subscribers/{site.probe_id}", json={"password": password}, headers=site.headers
    )
    assert answer.status_code == 200, answer.text
    site.probe.accept("probe", answer.json(), password=password)
    await wait_for(
        lambda: _on_router(site, password), timeout=RECOVERY_S, what=f"a change after {fault}"
    )
    synced_s = time.monotonic() - healed
    return Round(fault, outage_s, api_s, workers_s, synced_s, load.seen.unavailable - before_503)


def _marks(site: Site) -> tuple[float, list[int]]:
    offsets = [worker.log_path.stat().st_size for worker in site.workers]
    return time.monotonic(), offsets


async def _kill_redis_primary(site: Site, load: Load, number: int) -> Round:
    before_503 = load.seen.unavailable
    killed, promotion_s = await site.redis.kill_primary()
    # Measured from the promotion: the workers could not have worked before it.
    marks = _marks(site)
    fault = f"Redis primary killed ({number})"
    found = await _recovery(site, load, fault, promotion_s, marks, before_503)
    await site.redis.rejoin(killed)
    return found


async def _restart_postgres(site: Site, load: Load, number: int) -> Round:
    mode = "fast" if number % 2 else "immediate"
    unavailable = load.seen.unavailable
    stopped = time.monotonic()
    await asyncio.to_thread(site.pg.stop, mode)

    async def refused() -> bool:  # the lanes saw the outage: changes were answered 503
        return load.seen.unavailable >= unavailable + OUTAGE_503S

    await wait_for(refused, timeout=RECOVERY_S, what="503 answers while PostgreSQL is down")
    readyz = await site.client.get("/readyz")
    assert readyz.status_code == 503, readyz.text
    page = await site.console.get("/subscribers")
    assert page.status_code == 503 and "Database unavailable" in page.text, page.text[:500]
    await asyncio.to_thread(site.pg.start)
    outage_s = time.monotonic() - stopped
    fault = f"PostgreSQL restarted ({mode})"
    return await _recovery(site, load, fault, outage_s, _marks(site), unavailable)


async def _quiet(site: Site) -> bool:
    moment = now()
    async with site.runtime.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.tenant_id == site.tenant_id)
        rows = (await session.scalars(query)).all()
    return all(
        row.sync_status == "synced"
        and row.synced_version == row.desired_version
        and not row.pending_removal
        and (row.expires_at is None or row.expires_at > moment)
        for row in rows
    )


async def _world(site: Site, load: Load, ledger: Ledger) -> World:
    async with site.runtime.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.tenant_id == site.tenant_id)
        rows = {row.id: row for row in (await session.scalars(query)).all()}
        packages = {
            p.id: PackageInfo(p.id, p.service, p.profile_name, p.rate_limit)
            for p in (
                await session.scalars(select(Package).where(Package.tenant_id == site.tenant_id))
            ).all()
        }
    return World(
        tenant_id=site.tenant_id,
        model=load.model,
        rows=rows,
        packages=packages,
        sims=site.sims,
        router_index={rid: index for index, rid in enumerate(site.router_ids)},
        ledger=ledger,
        vault=site.runtime.vault,
        moment=now(),
    )


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_redis_and_postgres_failover_under_load(site: Site) -> None:
    started = time.monotonic()
    figures = Figures()
    ledger = Ledger()
    ledger.take(site.sims, site.tenant_id)
    load = Load(site.client, site.headers, site.router_ids, site.packages)
    load.model.slots[PROBE_SLOT] = site.probe
    stop = asyncio.Event()
    lanes = asyncio.create_task(load.run(stop))
    try:
        for number in range(1, ROUNDS + 1):
            figures.rounds.append(await _kill_redis_primary(site, load, number))
            figures.rounds.append(await _restart_postgres(site, load, number))
    finally:
        stop.set()
        await lanes
    settling = time.monotonic()
    await wait_for(lambda: _quiet(site), timeout=120, what="every subscriber synced", poll=0.5)
    figures.quiesce_s = time.monotonic() - settling
    findings = check(await _world(site, load, ledger))
    figures.changes = sum(load.seen.accepted.values())
    figures.subscribers = sum(1 for e in load.model.slots.values() if e.created)
    figures.deleted = sum(1 for e in load.model.slots.values() if e.created and e.deleted)
    figures.checked_on_router = findings.checked_on_router
    figures.answered_503 = load.seen.unavailable
    figures.slowest_request_s = load.seen.slowest_s
    figures.total_s = time.monotonic() - started
    report = figures.markdown()
    LAST_RUN.write_text(report)
    print(report)
    assert not load.seen.problems, load.seen.problems[:20]
    assert not findings.divergences, findings.divergences[:20]
    assert findings.status_counts.get("error", 0) == 0, findings.errors_by_reason
    assert figures.changes > 0 and figures.checked_on_router > 0
    assert all(one.answered_503 > 0 for one in figures.rounds if "PostgreSQL" in one.fault)
    assert load.seen.slowest_s < REQUEST_BOUND_S
    for worker in site.workers:
        assert worker.alive and worker.starts == 1, worker.tail()
    assert site.serve.process.poll() is None
    for log in [site.serve.log_path] + [worker.log_path for worker in site.workers]:
        assert REDIS_PASSWORD not in log.read_text(errors="replace"), f"{log.name} shows it"
