"""`mikrosync reconcile`: compare one router with the database, repair it, and say what was found.

Everything runs in this process: the read (with a progress bar on stderr), the repairs the
tenant's policy allows (unless `--dry-run`), and the converge of every subscriber the run
recorded as pending (job name `reconcileRouter`), so it works with no worker running and a
second run right after reports zero drift. The report goes to stdout.

Exit codes: 0 no drift remains (unmanaged logins alone do not count; they are listed);
1 drift remains (a dry run that found some, a report-only policy, a repair that failed);
2 the router could not be read, or no such tenant or router.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from mikrosync.cli.common import err_console, fail, run, settings_or_exit, with_runtime
from mikrosync.errors import NotFound
from mikrosync.jobs.names import RECONCILE_ROUTER
from mikrosync.routers.service import find_router
from mikrosync.runtime import Runtime
from mikrosync.sync.context import SyncContext
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.sync.drift import DriftKind
from mikrosync.sync.errors import SyncError
from mikrosync.sync.observed import Progress as ProgressCallback
from mikrosync.sync.reconcile import ReconcileOutcome
from mikrosync.sync.reconcile_runs.models import ReconcileRun, RunStatus
from mikrosync.tenants.service import find_tenant_by_slug
from mikrosync.tenants.settings_service import effective_policy
from mikrosync.usecases.reconcile import reconcile_now

# Items listed per kind; the stored run keeps up to 500 (GET .../reconcile-runs/{id}).
SHOWN_ITEMS = 10
out = Console(soft_wrap=True, highlight=False)


@dataclass(frozen=True)
class _Result:
    router: str
    outcome: ReconcileOutcome
    run: ReconcileRun
    policy: dict[str, str]
    converged: int
    failures: list[str]

    @property
    def exit_code(self) -> int:
        return 1 if self.outcome.drift_remains or self.failures else 0


def reconcile(
    router: str = typer.Option(..., "--router", help="Router name or id."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report drift; change nothing."),
) -> None:
    """Compare a router with the database and repair the drift (exit 1 if drift remains)."""
    settings = settings_or_exit()

    async def work(runtime: Runtime) -> _Result:
        async with runtime.sessionmaker() as session:
            found_tenant = await find_tenant_by_slug(session, slug=tenant)
            if found_tenant is None:
                raise fail(f"no tenant with slug {tenant!r}")
            try:
                found = await find_router(session, tenant_id=found_tenant.id, name_or_id=router)
            except NotFound as exc:
                raise fail(f"{exc} in tenant {tenant!r}") from None
            policy = effective_policy(found_tenant.reconcile_policy).model_dump()
        fixed: list[tuple[int, list[str]]] = []
        with ExitStack() as reading:
            progress = reading.enter_context(_reading_progress())

            async def fix(context: SyncContext, ids: Sequence[int]) -> None:
                reading.close()  # the read is over: its bars go before the converge's own
                fixed.append(await _converge(context, ids))

            outcome = await reconcile_now(
                runtime, found.id, dry_run=dry_run, progress=progress, fix=fix
            )
        converged, failures = fixed[0]
        async with runtime.sessionmaker() as session:
            run_row = await session.get(ReconcileRun, outcome.run_id)
        assert run_row is not None
        return _Result(found.name, outcome, run_row, policy, converged, failures)

    result = run(with_runtime(settings, work))
    if result.outcome.status == RunStatus.FAILED:
        raise fail(result.outcome.error or "reconciliation failed", code=2)
    _print_report(result)
    raise typer.Exit(result.exit_code)


@contextmanager
def _reading_progress() -> Iterator[ProgressCallback]:
    """A bar per menu read (their sizes are unknown up front, so it counts rows)."""
    tasks: dict[str, TaskID] = {}
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description:<26}"),
        BarColumn(),
        TextColumn("{task.completed:>8,.0f} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:

        def update(label: str, count: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=None)
            bar.update(tasks[label], completed=count)

        yield update


async def _converge(deps: SyncContext, ids: Sequence[int]) -> tuple[int, list[str]]:
    """Converge the recorded fixes here, a few at a time (the router's session budget)."""
    if not ids:
        return 0, []
    slots = asyncio.Semaphore(deps.settings.router_max_sessions)
    failures: list[str] = []

    async def one(subscriber_id: int) -> bool:
        async with slots:
            try:
                outcome = await converge_subscriber(deps, subscriber_id, Attempt(RECONCILE_ROUTER))
            except SyncError as exc:
                failures.append(f"subscriber {subscriber_id}: {exc.message}")
                return False
        if outcome == Outcome.WAITING:
            failures.append(f"subscriber {subscriber_id}: the router stopped answering")
        return outcome != Outcome.WAITING

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("converging fixes", total=len(ids))
        done = 0
        for finished in asyncio.as_completed([one(i) for i in ids]):
            done += int(await finished)
            bar.advance(task)
    return done, failures


def _print_report(result: _Result) -> None:
    outcome, run_row = result.outcome, result.run
    mode = "dry run" if outcome.dry_run else "repair"
    out.print(
        f"Router {result.router}: reconciliation run {run_row.id} ({mode}, "
        f"{outcome.duration:.1f} s)"
    )
    out.print(_table(result))
    for kind in DriftKind:
        items = run_row.items.get(kind, [])
        if not items:
            continue
        out.print(f"{kind.replace('_', ' ')} ({outcome.counts[kind]}):")
        for item in items[:SHOWN_ITEMS]:
            out.print(f"  {item['menu']} {item['name']}: {item['detail']}")
        hidden = outcome.counts[kind] - min(len(items), SHOWN_ITEMS)
        if hidden:
            out.print(
                f"  ... and {hidden} more (GET /api/v1/routers/.../reconcile-runs/{run_row.id})"
            )
    if outcome.fix_subscriber_ids:
        out.print(
            f"Converged {result.converged} of {len(outcome.fix_subscriber_ids)} subscriber(s)."
        )
    for failure in result.failures:
        out.print(f"[red]not fixed:[/] {failure}")
    if outcome.error:
        out.print(f"[red]{outcome.error}[/]")
    out.print("Drift remains." if result.exit_code else "No drift remains.")


def _table(result: _Result) -> Table:
    outcome = result.outcome
    table = Table("kind", "found", "policy", "left")
    for kind in DriftKind:
        policy = result.policy[kind]
        left = "-" if kind == DriftKind.UNMANAGED else str(outcome.remaining.get(kind, 0))
        if kind == DriftKind.UNMANAGED:
            policy = "report (never touched)"
        elif outcome.dry_run and policy != "report":
            policy = f"would {policy}"
        table.add_row(kind.replace("_", " "), str(outcome.counts.get(kind, 0)), policy, left)
    return table
