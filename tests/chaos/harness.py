"""One chaos run, start to finish.

1. Set up: a throw-away database, a private Redis, N simulated routers holding objects that
   are not mikrosync's (some online), the API in-process, W `mikrosync worker` processes.
2. Load: the operators' lanes, the technician and the customers' dial-ins, while the faults
   are injected.
3. Heal every fault; wait for quiescence (time to quiescence); the operator presses Retry
   on what is in `error` (every fault is gone now); quiescence again; one reconciliation per
   router, its fix jobs pushed; quiescence again.
4. Check the invariants (invariants.py) and write the table (report.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from mikrosync.app import create_app
from mikrosync.clock import now
from mikrosync.packages.models import Package
from mikrosync.payments.models import Payment, Wallet, WalletEntry
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimConfig, SimRouter
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.reconcile import reconcile_router
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role
from tests.chaos.crash import CrashingApi, hook_available
from tests.chaos.faults import FaultRunner
from tests.chaos.infra import RedisServer, WorkerProcess, create_database, drop_database
from tests.chaos.invariants import PackageInfo, World, check, reason_class
from tests.chaos.load import API, Operators, Outcomes, Progress
from tests.chaos.model import Model
from tests.chaos.plan import PACKAGES, Plan, TechAction, build_plan
from tests.chaos.profiles import ChaosProfile
from tests.chaos.report import RunReport
from tests.chaos.technician import ROUTER_PASSWORD, Customers, Ledger, Technician, seed_foreign
from tests.plugins.core import TEST_SECRET_KEY

OWNER_PASSWORD = "Chaos-pass-123"
QUIET_POLLS = 3
POLL_S = 0.5


@dataclass
class Site:
    """What the run set up: ids and handles the phases share."""

    settings: Settings
    runtime: Runtime
    client: httpx.AsyncClient
    headers: dict[str, str]
    tenant_id: int
    actor: str
    sims: list[SimRouter]
    router_ids: list[int]
    packages: dict[str, list[int]]
    redis: RedisServer
    workers: list[WorkerProcess]
    crasher: CrashingApi | None


async def run_chaos(profile: ChaosProfile, run_dir: Path) -> RunReport:
    plan = build_plan(profile)
    report = RunReport(profile, planned_ops=plan.op_counts(), run_dir=str(run_dir))
    started = time.monotonic()
    async with AsyncExitStack() as stack:
        site = await _set_up(profile, run_dir, stack)
        report.timings["set-up"] = time.monotonic() - started
        try:
            await _run(plan, site, report)
        finally:
            for worker in site.workers:
                code = await worker.stop()
                if code not in (0, None):
                    report.problems.append(f"{worker.log_path.name} exited with {code}")
                for exit_code, last in worker.exits:
                    note = f"{worker.log_path.name} ended by itself ({exit_code}): {last}"
                    if exit_code == 1 and "Redis is unavailable" in last:
                        # Documented: a worker started while Redis is down exits, and is
                        # started again by its process manager (docs/jobs.md).
                        report.problems.append(note + "; restarted")
                    else:
                        report.divergences.append(("worker died", note))
            report.problems.extend(_worker_errors(site.workers))
    report.timings["whole run"] = time.monotonic() - started
    return report


async def _set_up(profile: ChaosProfile, run_dir: Path, stack: AsyncExitStack) -> Site:
    run_dir.mkdir(parents=True, exist_ok=True)
    url = await create_database(profile.backend, run_dir)
    stack.push_async_callback(drop_database, profile.backend, url)
    redis = RedisServer(run_dir / "redis")
    await redis.start()
    stack.callback(redis.kill)
    settings = Settings(
        data_dir=run_dir / "data",
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        redis_url=redis.url,
        queue_prefix=f"chaos-{uuid.uuid4().hex[:8]}",
        sync_attempts=5,
    )
    runtime = Runtime.build(settings)
    stack.push_async_callback(runtime.close)
    sims: list[SimRouter] = []
    for index in range(profile.routers):
        config = SimConfig(
            username="admin",
            password=ROUTER_PASSWORD,
            identity=f"chaos-{index}",
            seed=profile.seed + index,
        )
        sim = SimRouter(config)
        await sim.start()
        stack.push_async_callback(sim.stop)
        seed_foreign(sim, index)
        sims.append(sim)
    app = create_app(settings)
    stack.push_async_callback(app.state.runtime.close)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://chaos")
    stack.push_async_callback(client.aclose)
    tenant_id, actor, headers = await create_owner(runtime, client)
    router_ids = [
        await post_created(
            client,
            headers,
            "/routers",
            {
                "name": f"chaos-{index}",
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
                {"name": name, "service": service, "rate_limit": rate, "price": "10.00"},
            )
            for name, rate in choices
        ]
        for service, choices in PACKAGES.items()
    }
    workers = [
        WorkerProcess(settings, run_dir / f"worker-{index}.log", profile.worker_concurrency)
        for index in range(profile.workers)
    ]
    for worker in workers:
        worker.start()
    crasher = None
    if hook_available():
        crasher = CrashingApi(settings, run_dir)
        await crasher.start()
        stack.push_async_callback(crasher.stop)
    await _workers_ready(runtime, router_ids)
    return Site(
        settings, runtime, client, headers, tenant_id, actor, sims, router_ids, packages, redis,
        workers, crasher,
    )  # fmt: skip


async def _workers_ready(runtime: Runtime, router_ids: list[int], timeout: float = 90) -> None:
    """Wait until the workers run jobs: their health check has marked every router online."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with runtime.sessionmaker() as session:
            query = select(Router.id).where(Router.id.in_(router_ids), Router.is_online.is_(True))
            if len((await session.scalars(query)).all()) == len(router_ids):
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the workers did not check the routers within {timeout:.0f} s")


async def create_owner(
    runtime: Runtime, client: httpx.AsyncClient, kind: str = "chaos"
) -> tuple[int, str, dict[str, str]]:
    """A fresh tenant `<kind>-...` and its owner (OWNER_PASSWORD), logged in to the API:
    (tenant id, email, auth headers). The failover suite uses it too."""
    slug = f"{kind}-{uuid.uuid4().hex[:8]}"
    email = f"owner@{slug}.test"
    async with runtime.sessionmaker() as session:
        tenant = await tenants.create_tenant(session, slug=slug, name=f"{kind.title()} ISP")
        await tenants.create_staff_user(
            session, tenant_id=tenant.id, email=email, password=OWNER_PASSWORD, role=Role.OWNER
        )
    response = await client.post(
        f"{API}/auth/token", data={"username": email, "password": OWNER_PASSWORD}
    )
    response.raise_for_status()
    return tenant.id, email, {"Authorization": f"Bearer {response.json()['access_token']}"}


async def post_created(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> int:
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _run(plan: Plan, site: Site, report: RunReport) -> None:
    model = Model()
    ledger = Ledger()
    ledger.take(site.sims, site.tenant_id)
    supervisor = asyncio.create_task(_supervise(site.workers))
    try:
        outcomes = await _load(plan, site, report, model, ledger)
        await _settle(plan, site, report, model)
    finally:
        supervisor.cancel()
        await asyncio.gather(supervisor, return_exceptions=True)
    findings = check(await _world(site, model, ledger))
    report.divergences += findings.divergences
    report.divergences += await _wallet_divergences(site)
    report.divergences += [("API answer", problem) for problem in outcomes.problems]
    report.known = findings.known
    report.statuses = findings.status_counts
    report.errors_at_end = findings.errors_by_reason
    report.checked_on_router = findings.checked_on_router


async def _load(
    plan: Plan, site: Site, report: RunReport, model: Model, ledger: Ledger
) -> Outcomes:
    """The operators, the technician, the customers and the faults, until the last operation
    and fault are done; then every fault is healed."""
    operators = Operators(
        plan,
        site.client,
        site.headers,
        site.runtime,
        site.tenant_id,
        site.actor,
        site.router_ids,
        site.packages,
        model,
        crasher=site.crasher,
    )
    technician = Technician(site.sims, site.tenant_id, plan.profile.seed, ledger)
    customers = Customers(site.sims, site.tenant_id, plan.profile.seed)
    faults = FaultRunner(site.sims, site.redis, site.workers)
    stop_customers = asyncio.Event()
    load_started = time.monotonic()
    background = [
        asyncio.create_task(customers.run(stop_customers)),
        asyncio.create_task(_technician(technician, plan.tech, operators.progress)),
        asyncio.create_task(faults.run(plan.faults, operators.progress)),
    ]
    try:
        await operators.run()
        report.timings["load"] = time.monotonic() - load_started
        await asyncio.gather(*background[1:])
    finally:
        stop_customers.set()
        for result in await asyncio.gather(*background, return_exceptions=True):
            if isinstance(result, BaseException):
                report.problems.append(f"harness task failed: {result!r}")
        await technician.close()
    report.unfired_faults = sum(await faults.heal())
    outcomes = operators.outcomes
    report.accepted, report.refused = outcomes.accepted, outcomes.refused
    report.failed, report.skipped = outcomes.failed, outcomes.skipped
    how = "process killed" if site.crasher else "commit without push, hook not applied"
    report.faults = faults.injected + Counter(
        {f"API killed between commit and push ({how})": sum(outcomes.crashed.values())}
    )
    report.technician = technician.done
    report.technician_skipped = sum(technician.skipped.values())
    report.technician_failed = sum(technician.failed.values())
    report.dial_ins = customers.dialled
    report.p50_ms, report.p99_ms = _percentiles(outcomes.latencies)
    report.problems += outcomes.problems + faults.errors
    return outcomes


async def _settle(plan: Plan, site: Site, report: RunReport, model: Model) -> None:
    """Quiescence; Retry of what is in `error`; quiescence; one reconciliation per router
    with its fixes pushed; quiescence (and a dry run to show what drift is left)."""
    healed = time.monotonic()
    timeout = plan.profile.quiesce_timeout_s
    quiet = await _quiesce(site, model, timeout)
    report.timings["time to quiescence"] = time.monotonic() - healed
    report.errors_before_retry = await _errors(site)
    retried = await site.client.post(f"{API}/subscribers/retry", json={}, headers=site.headers)
    retried.raise_for_status()
    quiet = await _quiesce(site, model, timeout) and quiet
    reconciled = time.monotonic()
    report.drift_found = await _reconcile(site, dry_run=False)
    quiet = await _quiesce(site, model, timeout) and quiet
    report.timings["reconciliation + quiescence"] = time.monotonic() - reconciled
    report.drift_after = await _reconcile(site, dry_run=True)
    if not quiet:
        report.problems.append("the run did not quiesce within the timeout (see divergences)")


async def _supervise(workers: list[WorkerProcess]) -> None:
    while True:
        for worker in workers:
            worker.supervise()
        await asyncio.sleep(0.5)


async def _technician(
    technician: Technician, actions: list[TechAction], progress: Progress
) -> None:
    for action in actions:
        await progress.reach(action.at_op)
        await technician.act(action)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    if not samples:
        return 0.0, 0.0
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000


async def _rows(site: Site) -> list[Subscriber]:
    async with site.runtime.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.tenant_id == site.tenant_id)
        return list((await session.scalars(query)).all())


def _settled(row: Subscriber, moment: datetime) -> bool:
    expired = row.expires_at is not None and row.expires_at <= moment
    if expired and not row.is_suspended and not row.pending_removal:
        return False  # its expiry is still to be processed
    if row.sync_status == "error":
        return True
    synced = row.sync_status == "synced" and row.synced_version == row.desired_version
    return synced and not row.pending_removal


def _quiet(rows: list[Subscriber]) -> bool:
    moment = now()
    return all(_settled(row, moment) for row in rows)


async def _quiesce(site: Site, model: Model, timeout: float) -> bool:
    """Wait until every subscriber is settled (synced or error) and every near expiry
    instant of the model has passed, for QUIET_POLLS polls in a row."""
    deadline = time.monotonic() + timeout
    horizon = now() + timedelta(hours=1)
    quiet_polls = 0
    while time.monotonic() < deadline:
        pending_expiry = [moment for moment in model.near_expiries(horizon) if moment > now()]
        if not pending_expiry and _quiet(await _rows(site)):
            quiet_polls += 1
            if quiet_polls >= QUIET_POLLS:
                return True
        else:
            quiet_polls = 0
        await asyncio.sleep(POLL_S)
    return False


async def _errors(site: Site) -> Counter[str]:
    return Counter(
        reason_class(row.sync_error_message or "")
        for row in await _rows(site)
        if row.sync_status == "error"
    )


async def _reconcile(site: Site, *, dry_run: bool) -> Counter[str]:
    found: Counter[str] = Counter()
    runtime = site.runtime
    async with runtime.private_routers(settings=site.settings) as deps:
        for router_id in site.router_ids:
            outcome = await reconcile_router(deps, router_id, dry_run=dry_run)
            counts = outcome.counts if outcome.error is None else {f"failed: {outcome.error}": 1}
            found.update({k: v for k, v in counts.items() if v})
            jobs = [(job.job_name, job.subscriber_id) for job in outcome.fix_jobs]
            if jobs:
                await runtime.queue.push_subscribers(jobs)
    return found


async def _world(site: Site, model: Model, ledger: Ledger) -> World:
    rows = {row.id: row for row in await _rows(site)}
    async with site.runtime.sessionmaker() as session:
        query = select(Package).where(Package.tenant_id == site.tenant_id)
        packages = {
            p.id: PackageInfo(p.id, p.service, p.profile_name, p.rate_limit)
            for p in (await session.scalars(query)).all()
        }
    return World(
        tenant_id=site.tenant_id,
        model=model,
        rows=rows,
        packages=packages,
        sims=site.sims,
        router_index={rid: index for index, rid in enumerate(site.router_ids)},
        ledger=ledger,
        vault=site.runtime.vault,
        moment=now(),
    )


async def _wallet_divergences(site: Site) -> list[tuple[str, str]]:
    """Every wallet's ledger sums to its balance, each line's balance_after is the running sum,
    and every applied payment was credited exactly once."""
    found: list[tuple[str, str]] = []
    async with site.runtime.sessionmaker() as session:
        wallets = (
            await session.scalars(select(Wallet).where(Wallet.tenant_id == site.tenant_id))
        ).all()
        entries = (
            await session.scalars(
                select(WalletEntry)
                .where(WalletEntry.tenant_id == site.tenant_id)
                .order_by(WalletEntry.id)
            )
        ).all()
        applied = (
            await session.scalars(
                select(Payment.id).where(
                    Payment.tenant_id == site.tenant_id,
                    Payment.status == "applied",
                    # A deleted subscriber's wallet goes with it; its payments stay.
                    Payment.subscriber_id.is_not(None),
                )
            )
        ).all()
    running: dict[int, Decimal] = {}
    credits: Counter[int] = Counter()
    for entry in entries:
        sign = {"credit": 1, "debit": -1}.get(entry.kind, 0)
        total = running.get(entry.subscriber_id, Decimal("0")) + sign * entry.amount
        running[entry.subscriber_id] = total
        if entry.balance_after != total:
            found.append(
                ("ledger", f"entry {entry.id}: balance_after {entry.balance_after} != {total}")
            )
        if entry.kind == "credit" and entry.payment_id is not None:
            credits[entry.payment_id] += 1
    for wallet in wallets:
        total = running.get(wallet.subscriber_id, Decimal("0"))
        if wallet.balance != total:
            found.append(("ledger", f"wallet {wallet.subscriber_id}: {wallet.balance} != {total}"))
    for payment_id in applied:
        if credits[payment_id] != 1:
            found.append(("ledger", f"payment {payment_id} credited {credits[payment_id]} times"))
    return found


def _worker_errors(workers: list[WorkerProcess], limit: int = 10) -> list[str]:
    """ERROR lines of the workers' logs (JSON lines), summarised by message."""
    messages: Counter[str] = Counter()
    for worker in workers:
        if not worker.log_path.exists():
            continue
        for line in worker.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Traceback" in line:
                    messages[f"{worker.log_path.name}: {line[:200]}"] += 1
                continue
            if entry.get("level") in ("ERROR", "CRITICAL"):
                messages[str(entry.get("message", ""))[:200]] += 1
    return [f"worker log ERROR x{n}: {text}" for text, n in messages.most_common(limit)]
