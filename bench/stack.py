"""What a workload runs against: the shared services and one fresh mikrosync stack.

`Services` (once per run): PostgreSQL (the machine's, reached as the `postgres` user like
tests/plugins/core.py does; each stack gets a throw-away database, dropped afterwards), Redis
(the machine's, under a unique key prefix per stack, or a private `redis-server` when none
answers) and the simhost process with the simulated routers.

`Stack` (once per workload or per side of a comparison): a migrated database, a tenant with an
owner, `mikrosync serve` on a free port, and N `mikrosync worker` processes (or the seed-design
baseline worker), all as subprocesses with the same environment the docs describe.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import bullmq
import httpx
import redis.asyncio
from sqlalchemy.engine import make_url

from bench.api import ROUTER_PASSWORD, STAFF_PASSWORD, Api
from bench.procs import Child, cpu_seconds, free_port, machine_busy_seconds, postgres_backends
from bench.simclient import RouterModel, SimHost, SimRouters
from mikrosync.db import migrate
from mikrosync.db.redis import redis_connection
from mikrosync.jobs.names import SYNC_QUEUE
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopq"
POSTGRES_URL = os.environ.get(
    "MIKROSYNC_BENCH_POSTGRES_URL",
    os.environ.get("MIKROSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
REDIS_URL = os.environ.get("MIKROSYNC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POLL_S = 0.02
JOB_LINE = re.compile(r" attempt \d+: (\w+)")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIKROSYNC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@dataclass
class Services:
    """PostgreSQL admin access, Redis and the simhost, shared by every stack of a run."""

    work_dir: Path
    redis_url: str
    simhost: SimHost
    private_redis: subprocess.Popen[bytes] | None = None
    prefixes: list[str] = field(default_factory=list)
    profile_dir: Path | None = None
    """When set, `serve` and the workers run under pyinstrument, writing text reports here."""

    def command(self, name: str, module: str, *args: str) -> list[str]:
        """`-m module args`, wrapped in pyinstrument when profiling."""
        if self.profile_dir is None:
            return ["-m", module, *args]
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        report = self.profile_dir / f"{name}.txt"
        return ["-m", "bench.profiled", str(report), module, *args]

    @classmethod
    async def start(cls, work_dir: Path) -> Services:
        connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=10)
        await connection.close()
        redis_url, private = await _redis()
        simhost = await SimHost.start(base_env(), work_dir)
        return cls(work_dir, redis_url, simhost, private)

    async def close(self) -> None:
        await self.simhost.close()
        if self.private_redis is not None:
            self.private_redis.terminate()
            self.private_redis.wait(timeout=10)
        else:
            client = redis.asyncio.from_url(self.redis_url)
            try:
                for prefix in self.prefixes:
                    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
                    for start in range(0, len(keys), 500):
                        await client.delete(*keys[start : start + 500])
            finally:
                await client.aclose()


async def _redis() -> tuple[str, subprocess.Popen[bytes] | None]:
    """The machine's Redis if it answers; otherwise a private one on a free port."""
    client = redis.asyncio.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
        return REDIS_URL, None
    except (redis.RedisError, OSError):
        pass
    finally:
        await client.aclose()
    port = free_port()
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        probe = redis.asyncio.from_url(url, socket_connect_timeout=1)
        try:
            await probe.ping()
            return url, process
        except (redis.RedisError, OSError):
            await asyncio.sleep(0.1)
        finally:
            await probe.aclose()
    raise RuntimeError("no Redis at 127.0.0.1:6379 and a private redis-server did not start")


@dataclass
class Site:
    """Routers registered with a stack, the package their subscribers get, and the sims."""

    sims: SimRouters
    router_ids: list[int]
    package_id: int
    package_name: str
    profile_name: str
    tenant_id: int


class Stack:
    """A fresh database and prefix, `mikrosync serve`, and worker processes."""

    def __init__(self, services: Services, name: str, env: dict[str, str] | None = None) -> None:
        self.services = services
        self.name = name
        self.token = uuid.uuid4().hex[:10]
        self.prefix = f"bench-{self.token}"
        services.prefixes.append(self.prefix)
        self.database = f"mikrosync_bench_{self.token}"
        self.database_url = (
            make_url(POSTGRES_URL)
            .set(drivername="postgresql+asyncpg", database=self.database)
            .render_as_string(hide_password=False)
        )
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=services.work_dir))
        self.env = (
            base_env()
            | {
                "MIKROSYNC_DATA_DIR": str(self.log_dir / "data"),
                "MIKROSYNC_DATABASE_URL": self.database_url,
                "MIKROSYNC_REDIS_URL": services.redis_url,
                "MIKROSYNC_QUEUE_PREFIX": self.prefix,
                "MIKROSYNC_SECRET_KEY": SECRET_KEY,
            }
            | (env or {})
        )
        self.settings = Settings(
            data_dir=self.log_dir / "data",
            database_url=self.database_url,
            secret_key=SECRET_KEY,
            redis_url=services.redis_url,
            queue_prefix=self.prefix,
        )
        self.serve: Child | None = None
        self.workers: list[Child] = []
        self.api = Api("http://unset")
        self.db: asyncpg.Connection | None = None
        self.tenant_id = 0
        self.email = ""
        self.sites: list[Site] = []
        self.orphan_sims: SimRouters | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> Stack:
        """Create and migrate the database, add the owner, spawn `mikrosync serve`; call
        `ready()` before using the API (workers can be started meanwhile)."""
        admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
        try:
            await admin.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await admin.close()
        await asyncio.to_thread(migrate.upgrade, self.database_url)
        self.db = await asyncpg.connect(_asyncpg_dsn(self.database_url))
        await self._owner()
        port = free_port()
        self.serve = Child.start(
            f"{self.name}-serve",
            self.services.command(f"{self.name}-serve", "mikrosync", "serve", "--port", str(port)),
            self.env,
            self.log_dir,
            cwd=self.log_dir,
        )
        self.api = Api(f"http://127.0.0.1:{port}")
        return self

    async def ready(self) -> None:
        """The API answers and we hold a token."""
        await self._wait_healthy()
        await self.api.login(self.email)

    async def _owner(self) -> None:
        runtime = Runtime.build(self.settings)
        try:
            async with runtime.sessionmaker() as session:
                tenant = await tenants.create_tenant(session, slug=f"b-{self.token}", name="Bench")
                self.tenant_id = tenant.id
                self.email = f"owner-{self.token}@bench.test"
                await tenants.create_staff_user(
                    session,
                    tenant_id=tenant.id,
                    email=self.email,
                    password=STAFF_PASSWORD,
                    role=Role.OWNER,
                )
        finally:
            await runtime.close()

    async def _wait_healthy(self, timeout: float = 90.0) -> None:
        assert self.serve is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if not self.serve.alive():
                    raise RuntimeError(f"mikrosync serve exited:\n{self.serve.tail()}")
                try:
                    if (await http.get(f"{self.api.root}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"mikrosync serve did not answer:\n{self.serve.tail()}")

    def start_workers(self, count: int, concurrency: int | None = None) -> list[Child]:
        """`mikrosync worker` processes; they pick jobs up within a second or so."""
        started = []
        for _ in range(count):
            args = ["worker"]
            if concurrency is not None:
                args += ["--concurrency", str(concurrency)]
            name = f"{self.name}-worker-{len(self.workers)}"
            command = self.services.command(name, "mikrosync", *args)
            child = Child.start(name, command, self.env, self.log_dir, cwd=self.log_dir)
            self.workers.append(child)
            started.append(child)
        return started

    def start_module(self, name: str, module: str, *args: str) -> Child:
        """Any `python -m module` with this stack's environment (the baseline worker)."""
        command = self.services.command(name, module, *args)
        child = Child.start(name, command, self.env, self.log_dir, cwd=REPO)
        self.workers.append(child)
        return child

    async def wait_workers_ready(self, timeout: float = 60.0) -> None:
        """Every worker has connected to Redis (it says so on stderr) and had a moment more."""
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            while "slots on" not in worker.tail(50) and "baseline worker ready" not in worker.tail(
                50
            ):
                if not worker.alive():
                    raise RuntimeError(f"{worker.name} exited:\n{worker.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{worker.name} did not start:\n{worker.tail()}")
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)

    async def stop_workers(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in self.workers))
        self.workers = []

    async def close(self) -> None:
        await self.stop_workers()
        await self.api.close()
        if self.serve is not None:
            await asyncio.to_thread(self.serve.stop)
        if self.db is not None:
            await self.db.close()
        admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()

    # -- set-up ------------------------------------------------------------------------------

    async def site(self, count: int, model: RouterModel, label: str = "r") -> Site:
        """`count` simulated routers registered through the API, with one package whose
        profile is already on every router (tagged as mikrosync's, as the product would tag
        it), so the baseline and mikrosync start from the same router state."""
        simhost = self.services.simhost
        sims = await simhost.routers(count, model, ROUTER_PASSWORD)
        self.orphan_sims = sims  # stopped by `running` even if registering them fails
        package = await self.api.create_package(f"Home {len(self.sites) + 1}", "10M/5M")
        router_ids = []
        for n, (index, port) in enumerate(zip(sims.indexes, sims.ports, strict=True)):
            router = await self.api.create_router(f"{label}{n + 1}", port)
            router_ids.append(int(router["id"]))
            profile = {
                "name": package["profile_name"],
                "rate-limit": package["rate_limit"],
                "comment": f"mikrosync:t={self.tenant_id}:p={package['id']}",
            }
            await simhost.add_row(index, "/ppp/profile", profile)
        site = Site(
            sims,
            router_ids,
            int(package["id"]),
            package["name"],
            package["profile_name"],
            self.tenant_id,
        )
        self.sites.append(site)
        return site

    # -- observing ---------------------------------------------------------------------------

    async def status_counts(self, router_ids: Sequence[int]) -> dict[str, int]:
        assert self.db is not None
        rows = await self.db.fetch(
            "SELECT sync_status, count(*) FROM subscribers WHERE router_id = ANY($1::int[]) "
            "GROUP BY sync_status",
            list(router_ids),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def wait_synced(self, router_ids: Sequence[int], total: int, timeout: float) -> float:
        """Poll until `total` rows of these routers are synced; returns time.monotonic()."""
        deadline = time.monotonic() + timeout
        while True:
            counts = await self.status_counts(router_ids)
            if counts.get("synced", 0) >= total:
                return time.monotonic()
            if counts.get("error"):
                raise RuntimeError(f"{counts['error']} subscriber(s) in error: {counts}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not synced after {timeout:.0f}s: {counts} of {total}")
            await asyncio.sleep(POLL_S)

    async def set_paused(self, paused: bool) -> None:
        """Pause or resume the `mikrotik-sync` queue of this stack (BullMQ's own pause: pushes
        are kept, no worker takes a job until it is resumed)."""
        connection = redis_connection(self.services.redis_url)
        queue = bullmq.Queue(SYNC_QUEUE, {"connection": connection, "prefix": self.prefix})
        try:
            await (queue.pause() if paused else queue.resume())
        finally:
            await queue.close()
            await connection.aclose()

    def job_outcomes(self) -> dict[str, int]:
        """Converge jobs run so far, by outcome, from the workers' logs (`... attempt 1:
        succeeded`); a `skipped` one found nothing to do (a repeated hint)."""
        outcomes: Counter[str] = Counter()
        for worker in self.workers:
            try:
                text = worker.log_path.read_text(errors="replace")
            except OSError:
                continue
            outcomes.update(m.group(1) for m in JOB_LINE.finditer(text))
        return dict(outcomes)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per part of the system (for "where the CPU goes")."""
        parts = {
            "workers": sum(w.cpu() for w in self.workers),
            "api": self.serve.cpu() if self.serve is not None else 0.0,
            "routers (simhost)": self.services.simhost.cpu(),
            "postgres (this db)": sum(cpu_seconds(p) for p in postgres_backends(self.database)),
            "bench driver": cpu_seconds(os.getpid()),
            "machine (every process)": machine_busy_seconds(),
        }
        return parts


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - v, 3) for k, v in before.items()}


def usernames(prefix: str, count: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(start, start + count)]


def spread(names: Iterable[str], buckets: int) -> list[list[str]]:
    """Round-robin `names` over `buckets` lists."""
    out: list[list[str]] = [[] for _ in range(buckets)]
    for i, name in enumerate(names):
        out[i % buckets].append(name)
    return out


@asynccontextmanager
async def running(
    services: Services,
    name: str,
    routers: int,
    model: RouterModel,
    *,
    workers: int = 1,
    concurrency: int | None = None,
    baseline: bool = False,
    env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[Stack, Site]]:
    """A started stack with `routers` simulated routers and its workers (or the baseline's
    one worker) ready; everything is stopped (the routers of every site of the stack too),
    and the database dropped, on exit."""
    stack = Stack(services, name, env)
    try:
        await stack.start()
        if baseline:
            stack.start_module(f"{name}-worker", "bench.baseline")
        else:
            stack.start_workers(workers, concurrency)
        await stack.ready()
        site = await stack.site(routers, model)
        await stack.wait_workers_ready()
        yield stack, site
    finally:
        await stack.close()
        started = [site.sims for site in stack.sites]
        if stack.orphan_sims is not None and stack.orphan_sims not in started:
            started.append(stack.orphan_sims)
        for sims in started:
            await services.simhost.stop_routers(sims)
