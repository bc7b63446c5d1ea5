"""`mikrosync import-csv` and `mikrosync import-router`: bring existing subscribers in.

Both show a progress bar (on stderr) while they work, then a summary and a table of what was
left out (on stdout). Exit codes: 0 when everything was imported, 1 when some rows or logins
were skipped (the tables say why), 2 on a usage or file error (nothing was imported).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from mikrosync.cli.common import err_console, fail, run, settings_or_exit, with_runtime
from mikrosync.errors import NotFound
from mikrosync.onboarding.adopt import AdoptionResult, adopt, preview
from mikrosync.onboarding.adopt_plan import AdoptionPlan, Skip
from mikrosync.onboarding.csv_import import ImportInterrupted, ImportResult
from mikrosync.onboarding.rows import CsvFileError, decode
from mikrosync.routeros import RouterOSError
from mikrosync.routers.models import Router
from mikrosync.routers.service import find_router
from mikrosync.runtime import Runtime
from mikrosync.tenants.service import find_tenant_by_slug
from mikrosync.usecases.onboarding import import_csv_file

out = Console(highlight=False)
ROUTER_HELP = "Router name or id."
TENANT_HELP = "Tenant slug."


class _Bar:
    """A rich progress bar with one line per phase (`update(phase, done, total)`)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def update(self, phase: str, done: int, total: int | None) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


@contextmanager
def _progress() -> Iterator[_Bar]:
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        yield _Bar(progress)


async def _target(runtime: Runtime, tenant_slug: str, router_ref: str) -> Router:
    """The tenant's router, or a usage error (exit 2)."""
    async with runtime.sessionmaker() as session:
        tenant = await find_tenant_by_slug(session, slug=tenant_slug)
        if tenant is None:
            raise fail(f"no tenant with slug {tenant_slug!r}")
        try:
            return await find_router(session, tenant_id=tenant.id, name_or_id=router_ref)
        except NotFound as exc:
            raise fail(f"{exc} in tenant {tenant_slug!r}") from None


def _table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    if table.row_count:
        out.print(table)


# -- import-csv ------------------------------------------------------------------------------


def import_csv_command(
    file: Path = typer.Argument(..., help="CSV file with a header line (see docs/import.md)."),
    router: str = typer.Option(..., "--router", help=ROUTER_HELP),
    tenant: str = typer.Option(..., "--tenant", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing."),
) -> None:
    """Import subscribers from a CSV file into one router."""
    try:
        text = decode(file.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from None
    except CsvFileError as exc:
        raise fail(f"{file}: {exc}") from None

    async def work(runtime: Runtime) -> ImportResult:
        target = await _target(runtime, tenant, router)
        try:
            with _progress() as bar:
                result = await import_csv_file(
                    runtime,
                    tenant_id=target.tenant_id,
                    router_id=target.id,
                    text=text,
                    actor="cli:import-csv",
                    dry_run=dry_run,
                    progress=bar.update,
                )
        except CsvFileError as exc:
            raise fail(f"{file}: {exc}") from None
        except ImportInterrupted as exc:
            raise fail(str(exc), code=1) from None
        return result

    result = run(with_runtime(settings_or_exit(), work))
    verb = "would create" if result.dry_run else "created"
    out.print(
        f"{verb} {result.created_count} subscriber(s), skipped {result.skipped} row(s)"
        + (" (dry run: nothing was written)" if result.dry_run else "")
    )
    _table(
        "Rows skipped",
        ("line", "field", "reason"),
        ((e.line, e.field, e.message) for e in result.errors),
    )
    raise typer.Exit(1 if result.skipped else 0)


# -- import-router ---------------------------------------------------------------------------


def import_router_command(
    router: str = typer.Option(..., "--router", help=ROUTER_HELP),
    tenant: str = typer.Option(..., "--tenant", help=TENANT_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would happen; change nothing."
    ),
) -> None:
    """Adopt a router's existing PPP secrets and hotspot users as subscribers."""

    async def work(runtime: Runtime) -> tuple[AdoptionPlan, AdoptionResult | None]:
        target = await _target(runtime, tenant, router)
        try:
            async with runtime.private_routers() as deps:
                with _progress() as bar:
                    plan = await preview(
                        deps, tenant_id=target.tenant_id, router=target, progress=bar.update
                    )
                    if dry_run:
                        return plan, None
                    result = await adopt(
                        deps, target, plan, actor="cli:import-router", progress=bar.update
                    )
                    return plan, result
        except RouterOSError as exc:
            raise fail(f"router {target.name}: {exc.message}", code=1) from None

    plan, result = run(with_runtime(settings_or_exit(), work))
    _show(plan, result)
    left_out = plan.gaps or plan.skipped or (result is not None and result.failed)
    raise typer.Exit(1 if left_out else 0)


def _show(plan: AdoptionPlan, result: AdoptionResult | None) -> None:
    """The summary first, then what was (or would be) taken over and what was left out."""
    read = ", ".join(f"{path}: {count}" for path, count in plan.read.items())
    out.print(f"router {plan.router_name}: read {read}; {plan.already_ours} already mikrosync's")
    if result is None:
        by_service = Counter(candidate.service for candidate in plan.candidates)
        split = ", ".join(f"{service}: {count}" for service, count in sorted(by_service.items()))
        out.print(
            f"would import {len(plan.candidates)} login(s)"
            + (f" ({split})" if split else "")
            + "; dry run: nothing was written"
        )
    else:
        out.print(
            f"imported {len(result.adopted)} login(s) as synced subscribers; "
            f"tagged {len(result.profiles_tagged)} profile(s); {len(result.failed)} failed"
        )
        if result.stopped:
            out.print(f"[bold red]stopped early:[/] {result.stopped}; run the import again")
    _table(
        "Profiles taken over for their package" if result else "Profiles that would be taken over",
        ("service", "profile", "package", "change"),
        (
            (t.service, t.existing.name, t.package.name, t.rate_change or "tag only")
            for t in plan.takeovers
        ),
    )
    _table(
        "Profiles without a package (their users are skipped)",
        ("service", "profile", "users", "reason"),
        ((g.service, g.profile, g.users, g.reason) for g in plan.gaps),
    )
    _skips("Logins skipped", plan.skipped)
    if result is not None:
        _skips("Logins not imported", result.failed)


def _skips(title: str, skips: Sequence[Skip]) -> None:
    _table(
        title,
        ("service", "login", "field", "reason"),
        ((s.service, s.name, s.field, s.reason) for s in skips),
    )
