"""Workload 8 (issue 16): a 2,000-voucher batch on one router, RTT 20 ms, 0.5 ms service,
20 API sessions. Figures: batch committed -> all on the router, ÷ the router-model bound;
router commands per voucher; the PDF sheet of the 2,000 vouchers.

In `bench.run` as workload 8 (`--only 8`; quick: 200 vouchers, full: 2,000), or on its own:

    .venv/bin/python -m bench.w8_vouchers [--count 2000] [--db sqlite|postgresql]

The router is a `SimRouter` in the simhost process (its CPU apart from ours); the batch is
created by the product's service (one transaction) and carried by `carry_batch`, the
`syncVoucherBatch` handler, in this process: the queue's hop (a push, a worker's pick-up, a few
ms) is not in the figure. Two settings of the product's per-router pool are measured: its
default (4 sessions) and the router's 20. "All on the router" is the carry's return, which is
after the database recorded every voucher as on the router (so no earlier than the router's
last add). Results: `bench/results/vouchers.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bench.bound import router_bound
from bench.profiles import Profile
from bench.report import WorkloadResult, write
from bench.simclient import RouterModel, SimHost
from bench.stack import POSTGRES_URL, Services, _asyncpg_dsn, base_env
from mikrosync.db import migrate
from mikrosync.packages import service as packages
from mikrosync.packages.schemas import PackageCreate
from mikrosync.routers import service as routers
from mikrosync.routers.schemas import RouterCreate
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.tenants import service as tenants
from mikrosync.vouchers import exports, service
from mikrosync.vouchers.carry import carry_batch
from mikrosync.vouchers.schemas import VoucherBatchCreate

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "router-pw"
GOAL = 1.5


async def _database(kind: str, work: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{work / 'w8.db'}", None
    name = f"mikrosync_bench_w8_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
    return base.rsplit("/", 1)[0] + f"/{name}", name


async def _drop(name: str | None) -> None:
    if name is None:
        return
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _one_run(
    simhost: SimHost, settings: Settings, model: RouterModel, count: int, pool: int
) -> dict[str, Any]:
    """A fresh router and tenant; create the batch, carry it; the figures of this run."""
    routers_started = await simhost.routers(1, model, PASSWORD)
    runtime = Runtime.build(settings.model_copy(update={"router_max_sessions": pool}))
    try:
        async with runtime.sessionmaker() as session:
            tenant = await tenants.create_tenant(
                session, slug=f"w8-{uuid.uuid4().hex[:8]}", name="W8 ISP"
            )
            router = await routers.create_router(
                session,
                tenant_id=tenant.id,
                vault=runtime.vault,
                data=RouterCreate(
                    name="hs",
                    host="127.0.0.1",
                    port=routers_started.ports[0],
                    username="admin",
                    password=PASSWORD,
                ),
            )
            package = await packages.create_package(
                session,
                tenant_id=tenant.id,
                data=PackageCreate(name="1 day", service="hotspot", rate_limit="2M/1M"),
            )
        await simhost.reset_verbs()
        await simhost.mark_log()
        async with runtime.sessionmaker() as session:
            data = VoucherBatchCreate(
                router_id=router.id, package_id=package.id, count=count, validity="1d"
            )
            started = time.time()
            batch = await service.create_batch(
                session, runtime.vault, tenant_id=tenant.id, data=data, actor="bench"
            )
            committed = time.time()
        async with runtime.private_routers() as deps:
            result = await carry_batch(deps, batch.id)
        done = time.time()
        verbs = (await simhost.verbs()).get(routers_started.indexes[0], {})
        adds = [e.at for e in await simhost.new_writes() if e.command == "/ip/hotspot/user/add"]
        pdf_started = time.perf_counter()
        async with runtime.sessionmaker() as session:
            sheet = await exports.sheet_file(
                session, runtime.vault, tenant_id=tenant.id, batch_id=batch.id
            )
        pdf_seconds = time.perf_counter() - pdf_started
        pdf_bytes = len(sheet.read())
        sheet.close()
        await simhost.stop_routers(routers_started)
        return {
            "pool_sessions": pool,
            "create_s": committed - started,
            "carry_s": done - committed,
            "last_add_s": max(adds) - committed if adds else None,
            "router_add_span_s": max(adds) - min(adds) if adds else None,
            "added": result.added,
            "status": str(result.status),
            "router_commands": verbs,
            "pdf_s": pdf_seconds,
            "pdf_bytes": pdf_bytes,
        }
    finally:
        await runtime.close()


async def measure(simhost: SimHost, count: int, db: str) -> WorkloadResult:
    """Both pool settings on fresh routers and one database; the workload's rows."""
    model = RouterModel(rtt_ms=20, service_ms=0.5, max_sessions=20)
    with tempfile.TemporaryDirectory(prefix="w8-") as tmp:
        work = Path(tmp)
        url, pg_name = await _database(db, work)
        try:
            await asyncio.to_thread(migrate.upgrade, url)
            settings = Settings(
                data_dir=work / "data",
                database_url=url,
                secret_key="bench-secret-key-0123456789-abcdefghijkl",
                redis_url="redis://127.0.0.1:6379/0",
            )
            runs = [await _one_run(simhost, settings, model, count, pool) for pool in (4, 20)]
        finally:
            await _drop(pg_name)
    bound_s, arithmetic = router_bound(count, model)
    result = WorkloadResult("10", f"{count:,}-voucher batch, one router ({db})")
    for run in runs:
        sessions = run["pool_sessions"]
        ratio = run["carry_s"] / bound_s
        adds = sum(n for verb, n in run["router_commands"].items() if verb.endswith("/add"))
        note = f"bound {arithmetic} = {bound_s:.3f} s; {adds} adds (the profile's included)"
        metric = f"batch committed -> all on the router ÷ bound ({sessions} sessions"
        if sessions == 20:
            result.at_most(metric + ")", ratio, GOAL, "x", note)
        else:
            result.figure(metric + ", the product's default pool)", ratio, "x", note)
        result.figure(f"carry time ({sessions} sessions)", run["carry_s"], "s")
        result.figure(
            f"batch committed -> the router's last add ({sessions} sessions)",
            run["last_add_s"],
            "s",
            "the router's own clock",
        )
        result.figure(
            f"the router's first add -> last add ({sessions} sessions)",
            run["router_add_span_s"],
            "s",
        )
        total = sum(run["router_commands"].values())
        result.figure(
            f"router commands per voucher ({sessions} sessions)",
            total / count,
            "",
            str(run["router_commands"]),
        )
    result.figure("batch recorded (one transaction)", runs[0]["create_s"], "s")
    result.figure(
        f"PDF sheet of {count} vouchers",
        runs[0]["pdf_s"],
        "s",
        f"{runs[0]['pdf_bytes'] / 1e6:.1f} MB, 21 a page",
    )
    result.raw = {"runs": runs, "bound_s": bound_s, "model": model.__dict__}
    return result


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    """`bench.run`'s entry: the profile's voucher count, on PostgreSQL."""
    return await measure(services.simhost, profile.vouchers, "postgresql")


async def main(count: int, db: str) -> Path:
    began = time.monotonic()
    load_start = tuple(round(x, 1) for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="w8-host-") as tmp:
        simhost = await SimHost.start(base_env(), Path(tmp))
        try:
            result = await measure(simhost, count, db)
        finally:
            await simhost.close()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    meta = {
        "profile": "vouchers",
        "stem": f"vouchers-{db}",
        "workloads": ["8"],
        "commit": commit,
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, shared)",
        "load_start": load_start,
        "load_end": tuple(round(x, 1) for x in os.getloadavg()),
        "elapsed_s": time.monotonic() - began,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    written = write([result], meta, RESULTS)
    return written[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    args = parser.parse_args()
    print(asyncio.run(main(args.count, args.db)).read_text())  # noqa: T201
