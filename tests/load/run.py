"""Load: N concurrent clients, mixed reads and writes, against `mikrosync serve` (by hand).

    python -m tests.load.run [--clients 200] [--duration 60] [--out build/load/last-run]

Everything is real and throw-away: a PostgreSQL database of its own, a private redis-server,
`mikrosync simulate-router --count K`, one `mikrosync serve` and one `mikrosync worker`
subprocess. The clients are asyncio tasks of this process; each owns the subscribers it
writes (so no answer is a legitimate 409), and reads anything of the tenant. Every answer
that is not 2xx, and every transport error, counts as an error: there must be none.

Written to `--out`: `summary.md` (p50/p99 over time, errors, RSS of the serve process over
time, the sync backlog drained afterwards) and `load.png`. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import func, select

from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role
from tests.chaos.infra import (
    RedisServer,
    create_database,
    drop_database,
    free_port,
    wait_ready,
)
from tests.load.lean_http import LeanClient
from tests.plugins.core import TEST_SECRET_KEY, environ_without_settings

HERE = Path(__file__).parent
# A run artefact: build/ is git-ignored.
LAST_RUN = HERE.parents[1] / "build" / "load" / "last-run"
API = "/api/v1"
PASSWORD = "Load-pass-123"
ROUTER_PASSWORD = "router-pw"
WINDOW_S = 5.0
PACKAGES = {"pppoe": ("10M/5M", "20M/10M"), "hotspot": ("2M/1M",), "static": ("50M/50M",)}
# What a client does, by weight: mostly reads (an operator's screens), some writes.
READS = {"list": 30, "get": 30, "events": 20, "routers": 10, "queue": 5, "packages": 5}
WRITES = {"create": 15, "password": 25, "suspend/connect": 30, "package": 20, "renew": 10}


@dataclass
class Options:
    clients: int = 200
    duration: float = 60.0
    routers: int = 5
    subscribers: int = 400
    write_share: float = 0.3
    router_latency_ms: float = 5.0
    seed: int = 1
    out: Path = LAST_RUN


@dataclass
class Sample:
    at: float
    ms: float
    kind: str
    op: str
    status: int
    client: int = -1


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    rss: list[tuple[float, float, float]] = field(default_factory=list)
    """(seconds since start, serve RSS MiB, worker RSS MiB)"""
    drained_s: float | None = None
    pending_at_end: int = 0
    subscribers_at_end: int = 0
    solo_ms: dict[str, float] = field(default_factory=dict)
    """One client alone, before the load: median milliseconds per request, by request."""
    client_ports: dict[int, int] = field(default_factory=dict)
    """Load client -> its connection's local port."""
    port_process: dict[int, int] = field(default_factory=dict)
    """A client's local port -> the pid of the `serve` process holding that connection."""


class Processes:
    """The subprocesses of the run, stopped in reverse order."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str, nice: int = 0) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        command = [sys.executable, "-m", "mikrosync", *args]
        if nice:
            command = ["nice", "-n", str(nice), *command]
        process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def wait_for_lines(path: Path, text: str, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line for line in path.read_text(errors="replace").splitlines() if text in line]
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{path.name}: fewer than {count} lines with {text!r} after {timeout} s")


@dataclass
class Site:
    http: httpx.AsyncClient | LeanClient
    headers: list[dict[str, str]]
    router_ids: list[int]
    packages: dict[str, list[int]]
    owned: list[list[dict[str, Any]]]
    """Per client: the subscribers it writes (id, service, suspended)."""


async def set_up(options: Options, runtime: Runtime, base: str, sims: list[int]) -> Site:
    slug = f"load-{uuid.uuid4().hex[:8]}"
    emails = [f"operator{n}@{slug}.test" for n in range(4)]
    async with runtime.sessionmaker() as session:
        tenant = await tenants.create_tenant(session, slug=slug, name="Load ISP")
        for email in emails:
            await tenants.create_staff_user(
                session, tenant_id=tenant.id, email=email, password=PASSWORD, role=Role.OWNER
            )
    # An idle connection is dropped before uvicorn's 5 s keep-alive timeout could close it
    # under a request being sent on it (a race of every keep-alive client, not an error).
    limits = httpx.Limits(
        max_connections=options.clients + 20, max_keepalive_connections=None, keepalive_expiry=2.0
    )
    http = httpx.AsyncClient(base_url=base, limits=limits, timeout=120)
    headers = []
    for email in emails:
        token = await http.post(f"{API}/auth/token", data={"username": email, "password": PASSWORD})
        token.raise_for_status()
        headers.append({"Authorization": f"Bearer {token.json()['access_token']}"})
    owner = headers[0]
    router_ids = []
    for index, port in enumerate(sims):
        body = {"name": f"load-{index}", "host": "127.0.0.1", "port": port, "username": "admin"}
        created = await http.post(
            f"{API}/routers", json=body | {"password": ROUTER_PASSWORD}, headers=owner
        )
        created.raise_for_status()
        router_ids.append(created.json()["id"])
    packages: dict[str, list[int]] = {}
    for service, rates in PACKAGES.items():
        for rate in rates:
            body = {"name": f"{service} {rate}", "service": service, "rate_limit": rate}
            created = await http.post(f"{API}/packages", json=body, headers=owner)
            created.raise_for_status()
            packages.setdefault(service, []).append(created.json()["id"])
    site = Site(http, headers, router_ids, packages, [[] for _ in range(options.clients)])
    rng = random.Random(options.seed)
    limit = asyncio.Semaphore(20)

    async def seed(n: int) -> None:
        async with limit:
            owned = site.owned[n % options.clients]
            owned.append(await create(site, rng, n % options.clients, f"seed{n}", owner))

    await asyncio.gather(*(seed(n) for n in range(options.subscribers)))
    return site


async def create(
    site: Site, rng: random.Random, client: int, name: str, headers: dict[str, str]
) -> dict[str, Any]:
    service = rng.choice(("pppoe", "pppoe", "hotspot", "static"))
    body: dict[str, Any] = {
        "router_id": rng.choice(site.router_ids),
        "package_id": site.packages[service][0],
        "service": service,
        "username": f"{name}-{client}-{uuid.uuid4().hex[:6]}",
    }
    if service == "static":
        n = rng.randrange(1 << 22)
        body["static_ip"] = f"10.{64 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"
    else:
        body["password"] = "pw-" + uuid.uuid4().hex[:8]
    response = await site.http.post(f"{API}/subscribers", json=body, headers=headers)
    if response.status_code == 409 and service == "static":
        return await create(site, rng, client, name, headers)  # an IP drawn twice
    response.raise_for_status()
    created = response.json()
    return {"id": created["id"], "service": service, "suspended": False, "package": 0}


async def client_loop(
    site: Site, client: int, options: Options, start: float, results: Results
) -> None:
    # Its own connection, not one pool shared by every client: httpcore's pool walks all its
    # connections and queued requests on each request, so with 200 clients on one pool the
    # load generator spent 13 ms of CPU a request (64 % of a core at 49 requests/s) and was
    # the limit, with each `serve` process under 20 % busy. And a lean client, not httpx:
    # even one httpx client per load client took ~27 % of a core at 230 requests/s
    # (lean_http.py).
    own = LeanClient(str(site.http.base_url), timeout=120)
    try:
        await _client_loop(dataclasses.replace(site, http=own), client, options, start, results)
    finally:
        await own.aclose()


async def _client_loop(
    site: Site, client: int, options: Options, start: float, results: Results
) -> None:
    rng = random.Random(options.seed * 100_003 + client)
    headers = site.headers[client % len(site.headers)]
    owned = site.owned[client]
    everyone = [s["id"] for subs in site.owned for s in subs]
    end = start + options.duration
    made = 0
    while time.monotonic() < end:
        write = rng.random() < options.write_share and owned
        kinds = WRITES if write else READS
        op = rng.choices(list(kinds), weights=list(kinds.values()))[0]
        began = time.monotonic()
        try:
            status = await (
                write_op(site, rng, client, owned, op, headers, made)
                if write
                else read_op(site, rng, everyone, op, headers)
            )
        except (httpx.HTTPError, OSError) as exc:
            status = 0
            results.errors[f"{op}: {type(exc).__name__}"] += 1
            if len(results.error_examples) < 20:
                results.error_examples.append(f"{op}: {exc!r}")
        if op == "create":
            made += 1
        elapsed = time.monotonic() - began
        results.samples.append(
            Sample(began - start, elapsed * 1000, "write" if write else "read", op, status, client)
        )
        if isinstance(site.http, LeanClient) and site.http.local_port is not None:
            results.client_ports[client] = site.http.local_port
        if status and not 200 <= status < 300:
            results.errors[f"{op}: {status}"] += 1


async def read_op(
    site: Site, rng: random.Random, everyone: list[int], op: str, headers: dict[str, str]
) -> int:
    if op == "list":
        params = {"page": rng.randint(1, 8), "per_page": 50}
        return (
            await site.http.get(f"{API}/subscribers", params=params, headers=headers)
        ).status_code
    if op in ("get", "events"):
        suffix = "/events" if op == "events" else ""
        path = f"{API}/subscribers/{rng.choice(everyone)}{suffix}"
        return (await site.http.get(path, headers=headers)).status_code
    path = {"routers": "/routers", "queue": "/queue", "packages": "/packages"}[op]
    return (await site.http.get(f"{API}{path}", headers=headers)).status_code


async def write_op(
    site: Site,
    rng: random.Random,
    client: int,
    owned: list[dict[str, Any]],
    op: str,
    headers: dict[str, str],
    made: int,
) -> int:
    if op == "create":
        owned.append(await create(site, rng, client, f"load{made}", headers))
        return 201
    target = rng.choice(owned)
    base = f"{API}/subscribers/{target['id']}"
    if op == "password" and target["service"] != "static":
        body = {"password": "pw-" + uuid.uuid4().hex[:8]}
        return (await site.http.patch(base, json=body, headers=headers)).status_code
    if op == "package" and len(site.packages[target["service"]]) > 1:
        target["package"] = 1 - target["package"]
        body = {"package_id": site.packages[target["service"]][target["package"]]}
        return (await site.http.patch(base, json=body, headers=headers)).status_code
    if op == "renew":
        return (await site.http.post(f"{base}/renew", headers=headers)).status_code
    action = "connect" if target["suspended"] else "suspend"
    target["suspended"] = not target["suspended"]
    return (await site.http.post(f"{base}/{action}", headers=headers)).status_code


async def sample_rss(
    pids: tuple[int, int], start: float, results: Results, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        results.rss.append((time.monotonic() - start, rss_mib(pids[0]), rss_mib(pids[1])))
        if not results.port_process and time.monotonic() - start > 10:
            results.port_process = serving_processes(pids[0])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def worker_nice() -> int:
    """The niceness the deployment runs `mikrosync worker` at: the systemd unit's `Nice=`."""
    unit = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "mikrosync-worker@.service"
    for line in unit.read_text().splitlines():
        if line.startswith("Nice="):
            return int(line.removeprefix("Nice="))
    return 0


def serving_processes(serve_pid: int) -> dict[int, int]:
    """Client port -> pid of the `serve` worker process holding that connection (the
    clients keep their connections, so which process serves a client is fixed once made)."""
    held: dict[int, int] = {}
    for child in psutil.Process(serve_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            for connection in child.net_connections(kind="tcp"):
                if connection.raddr and connection.status == psutil.CONN_ESTABLISHED:
                    held[connection.raddr.port] = child.pid
    return held


async def drain(runtime: Runtime, results: Results, timeout: float = 120) -> None:
    """After the load: how long until every subscriber is synced (the worker's backlog)."""
    started = time.monotonic()
    while True:
        async with runtime.sessionmaker() as session:
            pending = await session.scalar(
                select(func.count()).where(Subscriber.sync_status != "synced")
            )
            total = await session.scalar(select(func.count()).select_from(Subscriber))
        results.pending_at_end, results.subscribers_at_end = int(pending or 0), int(total or 0)
        if not pending:
            results.drained_s = time.monotonic() - started
            return
        if time.monotonic() - started > timeout:
            return
        await asyncio.sleep(0.5)


async def run(options: Options) -> Results:
    run_dir = Path(tempfile.mkdtemp(prefix="mikrosync-load-"))
    url = await create_database("postgresql", run_dir)
    redis = RedisServer(run_dir / "redis")
    await redis.start()
    settings = Settings(
        data_dir=run_dir / "data", database_url=url, secret_key=TEST_SECRET_KEY, redis_url=redis.url
    )
    env = environ_without_settings() | {
        "MIKROSYNC_DATA_DIR": str(settings.data_dir),
        "MIKROSYNC_DATABASE_URL": url,
        "MIKROSYNC_REDIS_URL": redis.url,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
        "MIKROSYNC_LOG_LEVEL": "WARNING",
    }
    processes = Processes(env, run_dir)
    runtime = Runtime.build(settings)
    results = Results()
    try:
        processes.start(
            "routers", "simulate-router", "--port", "0", "--count", str(options.routers),
            "--username", "admin", "--password", ROUTER_PASSWORD,
            "--latency-ms", str(options.router_latency_ms),
        )  # fmt: skip
        lines = await wait_for_lines(run_dir / "routers.log", "listening on", options.routers)
        ports = [int(line.rsplit(":", 1)[1]) for line in lines]
        port = free_port()
        serve = processes.start("serve", "serve", "--port", str(port))
        worker = processes.start("worker", "worker", nice=worker_nice())
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base)
        site = await set_up(options, runtime, base, ports)
        results.solo_ms = await solo(site)
        print(f"set up: {options.subscribers} subscribers on {options.routers} routers; go")
        stop = asyncio.Event()
        start = time.monotonic()
        sampler = asyncio.create_task(sample_rss((serve.pid, worker.pid), start, results, stop))
        await asyncio.gather(
            *(client_loop(site, n, options, start, results) for n in range(options.clients))
        )
        await drain(runtime, results)
        stop.set()
        await sampler
        await site.http.aclose()
    finally:
        processes.stop()
        await runtime.close()
        redis.kill()
        await drop_database("postgresql", url)
    print(f"logs: {run_dir}")
    return results


SOLO_REQUESTS = 200


async def solo(site: Site) -> dict[str, float]:
    """One client alone, requests one after another: the median time of `/healthz` (no
    database, no login) and of one subscriber (token check, principal, one row), alternated so
    that both see the same machine. The client's own share is the same in both."""
    subscriber = site.owned[0][0]["id"]
    auth = site.headers[0]
    paths = {"GET /healthz": ("/healthz", {}), "GET /subscribers/{id}": (
        f"{API}/subscribers/{subscriber}", auth)}  # fmt: skip
    # Each read the clients make, so a slow one shows where the load's time goes.
    paths |= {
        "GET /subscribers?per_page=50": (f"{API}/subscribers?page=2&per_page=50", auth),
        "GET /subscribers/{id}/events": (f"{API}/subscribers/{subscriber}/events", auth),
        "GET /routers": (f"{API}/routers", auth),
        "GET /queue": (f"{API}/queue", auth),
        "GET /packages": (f"{API}/packages", auth),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(SOLO_REQUESTS):
        for name, (path, headers) in paths.items():
            started = time.perf_counter()
            answer = await site.http.get(path, headers=headers)
            times[name].append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return {name: statistics.median(values) for name, values in times.items()}


# -- the report -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def windows(results: Results, options: Options) -> list[dict[str, float]]:
    rows = []
    count = int(options.duration // WINDOW_S) + (options.duration % WINDOW_S > 0)
    for index in range(count):
        low, high = index * WINDOW_S, (index + 1) * WINDOW_S
        inside = [s for s in results.samples if low <= s.at < high]
        rss = [r[1] for r in results.rss if low <= r[0] < high]
        row = {"from": low, "requests": len(inside), "rss": statistics.mean(rss) if rss else 0.0}
        for kind in ("read", "write"):
            ms = [s.ms for s in inside if s.kind == kind]
            row[f"{kind}_p50"] = percentile(ms, 0.50)
            row[f"{kind}_p99"] = percentile(ms, 0.99)
        rows.append(row)
    return rows


def summary(results: Results, options: Options, rows: list[dict[str, float]]) -> str:
    reads = [s.ms for s in results.samples if s.kind == "read"]
    writes = [s.ms for s in results.samples if s.kind == "write"]
    total = len(results.samples)
    rss = [r[1] for r in results.rss if r[0] <= options.duration]
    early = statistics.mean(rss[:10]) if rss else 0.0
    late = statistics.mean(rss[-10:]) if rss else 0.0
    lines = [
        "# Load: mikrosync serve under mixed read/write load",
        "",
        f"{options.clients} concurrent clients for {options.duration:.0f} s; "
        f"{options.write_share:.0%} writes; {options.routers} simulated routers "
        f"({options.router_latency_ms:.0f} ms RTT), {options.subscribers} subscribers at the "
        "start; one `mikrosync serve` (its default: one uvicorn process per core) and one "
        f"`mikrosync worker` (at niceness {worker_nice()}, as deploy/systemd runs it), "
        "PostgreSQL, Redis; "
        f"{os.cpu_count()} CPU cores shared by all of it and the clients.",
        "",
        "| | value |",
        "|---|---:|",
        f"| requests | {total} ({total / options.duration:.0f}/s) |",
        f"| reads / writes | {len(reads)} / {len(writes)} |",
        f"| **errors** (non-2xx or transport) | **{sum(results.errors.values())}** |",
        f"| latency of every request p50 / p99 | {percentile(reads + writes, 0.5):.0f} / "
        f"{percentile(reads + writes, 0.99):.0f} ms |",
        f"| read latency p50 / p99 | {percentile(reads, 0.5):.0f} / "
        f"{percentile(reads, 0.99):.0f} ms |",
        f"| write latency p50 / p99 | {percentile(writes, 0.5):.0f} / "
        f"{percentile(writes, 0.99):.0f} ms |",
        f"| serve RSS, first 10 s / last 10 s (mean) | {early:.0f} / {late:.0f} MiB "
        f"({late - early:+.0f} MiB) |",
        f"| worker RSS at the end | {results.rss[-1][2] if results.rss else 0:.0f} MiB |",
        f"| subscribers at the end | {results.subscribers_at_end} |",
        *(f"| one client alone, {name} (median of {SOLO_REQUESTS}) | {ms:.1f} ms |"
          for name, ms in results.solo_ms.items()),
        "| one subscriber ÷ `/healthz`, one client alone | "
        + (f"{results.solo_ms['GET /subscribers/{id}'] / results.solo_ms['GET /healthz']:.2f} x"
           if results.solo_ms else "-") + " |",
        "| sync backlog drained after the load | "
        + (f"{results.drained_s:.1f} s" if results.drained_s is not None else
           f"not within 120 s ({results.pending_at_end} pending)")
        + " |",
        "",
        "| from (s) | requests | read p50 | read p99 | write p50 | write p99 | serve RSS (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for row in rows:
        lines.append(
            f"| {row['from']:.0f} | {row['requests']:.0f} | {row['read_p50']:.0f} | "
            f"{row['read_p99']:.0f} | {row['write_p50']:.0f} | {row['write_p99']:.0f} | "
            f"{row['rss']:.0f} |"
        )
    lines += ["", "Under load, by operation:", "", "| operation | requests | p50 (ms) | p99 (ms) |",
              "|---|---:|---:|---:|"]  # fmt: skip
    by_op: dict[str, list[float]] = {}
    for sample in results.samples:
        by_op.setdefault(f"{sample.kind}: {sample.op}", []).append(sample.ms)
    for name, values in sorted(by_op.items()):
        lines.append(
            f"| {name} | {len(values)} | {percentile(values, 0.5):.0f} | "
            f"{percentile(values, 0.99):.0f} |"
        )
    lines += by_process(results)
    if results.errors:
        lines += ["", "Errors: " + ", ".join(f"{k} x{n}" for k, n in results.errors.items())]
        lines += [f"- `{example}`" for example in results.error_examples]
    lines += ["", "![latency, throughput and RSS over time](load.png)", ""]
    return "\n".join(lines)


def by_process(results: Results) -> list[str]:
    """Each `serve` process's clients and their latency: an uneven split of the connections
    shows as one process's clients waiting longer."""
    process_of = {
        client: results.port_process[port]
        for client, port in results.client_ports.items()
        if port in results.port_process
    }
    if not process_of:
        return []
    latencies: dict[int, list[float]] = {}
    for sample in results.samples:
        if sample.client in process_of:
            latencies.setdefault(process_of[sample.client], []).append(sample.ms)
    clients = Counter(process_of.values())
    lines = [
        "",
        "By `serve` process (the clients keep their connections):",
        "",
        "| process | clients | requests | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for number, (pid, values) in enumerate(sorted(latencies.items()), start=1):
        lines.append(
            f"| {number} (pid {pid}) | {clients[pid]} | {len(values)} | "
            f"{percentile(values, 0.5):.0f} | {percentile(values, 0.99):.0f} |"
        )
    return lines


def plot(results: Results, rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [row["from"] + WINDOW_S / 2 for row in rows]
    figure, (latency, throughput, memory) = plt.subplots(3, 1, figsize=(9, 10), sharex=True)
    for key, style in (("read_p50", "b-"), ("read_p99", "b--"), ("write_p50", "r-"),
                       ("write_p99", "r--")):  # fmt: skip
        latency.plot(starts, [row[key] for row in rows], style, label=key.replace("_", " "))
    latency.set_ylabel("latency (ms)")
    latency.legend(loc="upper left")
    latency.grid(alpha=0.3)
    throughput.bar(starts, [row["requests"] / WINDOW_S for row in rows], width=WINDOW_S * 0.8)
    throughput.set_ylabel("requests / s")
    throughput.grid(alpha=0.3)
    memory.plot([r[0] for r in results.rss], [r[1] for r in results.rss], "k-", label="serve")
    memory.plot([r[0] for r in results.rss], [r[2] for r in results.rss], "g-", label="worker")
    memory.set_ylabel("RSS (MiB)")
    memory.set_xlabel("seconds since the load started")
    memory.set_ylim(bottom=0)
    memory.legend(loc="lower right")
    memory.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load.run", description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--routers", type=int, default=5)
    parser.add_argument("--subscribers", type=int, default=400)
    parser.add_argument("--write-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=LAST_RUN)
    args = parser.parse_args(argv)
    if importlib.util.find_spec("matplotlib") is None:
        parser.error("the plots need matplotlib, from the bench extra: run `make load`")
    options = Options(
        clients=args.clients,
        duration=args.duration,
        routers=args.routers,
        subscribers=args.subscribers,
        write_share=args.write_share,
        seed=args.seed,
        out=args.out,
    )
    results = asyncio.run(run(options))
    rows = windows(results, options)
    options.out.mkdir(parents=True, exist_ok=True)
    text = summary(results, options, rows)
    (options.out / "summary.md").write_text(text)
    plot(results, rows, options.out / "load.png")
    print(text)
    print(f"written to {options.out}")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
