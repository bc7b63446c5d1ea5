"""`mikrosync vouchers create|list|print|export|delete`: voucher batches from the shell.

`create` records the batch (one transaction) and shows a progress bar, "N of M on the router",
until the batch is on its router: carried by the worker (the default), or in this process with
`--here` (no worker needed, as `reconcile` does). `delete` works the same way. Exit codes: 0
done; 1 the batch ended in error (the router's words are printed); 2 bad input or no such
tenant, router, package or batch.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.cli.common import err_console, fail, run, settings_or_exit, with_runtime
from mikrosync.errors import InvalidInput, NotFound
from mikrosync.jobs.push import push_voucher_batch
from mikrosync.packages.models import Package
from mikrosync.routers.service import find_router
from mikrosync.runtime import Runtime
from mikrosync.sync.errors import SyncError
from mikrosync.tenants.service import find_tenant_by_slug
from mikrosync.vouchers import exports, service
from mikrosync.vouchers.carry import carry_batch
from mikrosync.vouchers.models import BatchStatus, VoucherBatch
from mikrosync.vouchers.printing import DEFAULT_PER_PAGE
from mikrosync.vouchers.schemas import VoucherBatchCreate

voucher_app = typer.Typer(help="Hotspot voucher batches.", no_args_is_help=True)
out = Console(soft_wrap=True, highlight=False)
POLL_S = 0.5
DONE = (BatchStatus.SYNCED, BatchStatus.ERROR, BatchStatus.DELETED)

TENANT = typer.Option(..., "--tenant", help="Tenant slug.")


async def _tenant_id(session: AsyncSession, slug: str) -> int:
    tenant = await find_tenant_by_slug(session, slug=slug)
    if tenant is None:
        raise fail(f"no tenant with slug {slug!r}")
    return tenant.id


async def _package_id(session: AsyncSession, tenant_id: int, name_or_id: str) -> int:
    query = select(Package.id).where(Package.tenant_id == tenant_id)
    if name_or_id.isdigit():
        query = query.where(Package.id == int(name_or_id))
    else:
        query = query.where(Package.name == name_or_id)
    found = (await session.scalars(query)).first()
    if found is None:
        raise fail(f"no package {name_or_id!r}")
    return found


async def _follow(runtime: Runtime, batch: VoucherBatch, *, here: bool, timeout: float) -> int:
    """Show "N of M on the router" until the batch is done; returns the exit code."""
    carrying: asyncio.Task[object] | None = None
    if here:
        carrying = asyncio.create_task(_carry_here(runtime, batch.id))
    else:
        await push_voucher_batch(runtime.queue, batch.id)
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("[bold]batch #{task.fields[batch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("on the router · {task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task("", total=batch.count, batch=batch.id, status=batch.status)
        while True:
            async with runtime.sessionmaker() as session:
                current = await session.get(VoucherBatch, batch.id)
            assert current is not None
            bar.update(task, completed=current.on_router, status=current.status)
            finished = carrying is not None and carrying.done()
            if current.status in DONE or finished or time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_S)
    if carrying is not None:
        await asyncio.gather(carrying, return_exceptions=True)
    if current.status == BatchStatus.ERROR:
        err_console.print(f"[bold red]error:[/] {current.error_message}", highlight=False)
        return 1
    if current.status not in DONE:
        note = current.error_message or "still on its way (the worker carries it on)"
        err_console.print(f"[yellow]not finished:[/] {note}", highlight=False)
        return 1
    return 0


async def _carry_here(runtime: Runtime, batch_id: int) -> object:
    async with runtime.private_routers() as deps:
        try:
            return await carry_batch(deps, batch_id)
        except SyncError as exc:  # recorded on the batch; _follow prints it
            return exc.message


@voucher_app.command("create")
def create(
    tenant: str = TENANT,
    router: str = typer.Option(..., "--router", help="Router name or id."),
    count: int = typer.Option(..., "--count", help="How many vouchers (1-10,000)."),
    package: str | None = typer.Option(None, "--package", help="Hotspot package name or id."),
    profile: str | None = typer.Option(
        None, "--profile", help="A hotspot user profile the router has (instead of a package)."
    ),
    price: Decimal | None = typer.Option(None, "--price"),
    validity: str | None = typer.Option(None, "--validity", help="From first login: 1h, 1d."),
    limit_uptime: str | None = typer.Option(None, "--limit-uptime"),
    limit_bytes: str | None = typer.Option(None, "--limit-bytes", help="e.g. 500M, 2G."),
    length: int = typer.Option(8, "--length", help="Code length."),
    prefix: str = typer.Option("", "--prefix"),
    alphabet: str | None = typer.Option(None, "--alphabet"),
    separate_password: bool = typer.Option(False, "--separate-password"),
    comment: str | None = typer.Option(None, "--comment"),
    here: bool = typer.Option(False, "--here", help="Carry it in this process (no worker)."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Show progress until done."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait at most."),
) -> None:
    """Create a batch; a progress bar follows it onto the router."""
    settings = settings_or_exit()

    async def work(runtime: Runtime) -> int:
        async with runtime.sessionmaker() as session:
            tenant_id = await _tenant_id(session, tenant)
            try:
                found = await find_router(session, tenant_id=tenant_id, name_or_id=router)
            except NotFound as exc:
                raise fail(str(exc)) from None
            body: dict[str, object] = {
                "router_id": found.id,
                "count": count,
                "code_length": length,
                "prefix": prefix,
                "password_mode": "separate" if separate_password else "same",
                "price": price,
                "validity": validity,
                "limit_uptime": limit_uptime,
                "limit_bytes_total": limit_bytes,
                "comment": comment,
                "profile_name": profile,
            }
            if package is not None:
                body["package_id"] = await _package_id(session, tenant_id, package)
            if alphabet is not None:
                body["alphabet"] = alphabet
            try:
                data = VoucherBatchCreate.model_validate(body)
                batch = await service.create_batch(
                    session, runtime.vault, tenant_id=tenant_id, data=data, actor="cli"
                )
            except ValidationError as exc:
                first = exc.errors()[0]
                raise fail(f"{first['loc'][-1]}: {first['msg']}") from None
            except InvalidInput as exc:
                raise fail(f"{exc.field}: {exc.message}") from None
        out.print(f"batch #{batch.id}: {batch.count} voucher(s) recorded")
        if not wait and not here:
            await push_voucher_batch(runtime.queue, batch.id)
            return 0
        return await _follow(runtime, batch, here=here, timeout=timeout)

    raise typer.Exit(run(with_runtime(settings, work)))


@voucher_app.command("list")
def list_batches(tenant: str = TENANT) -> None:
    """The tenant's batches with their progress and sales."""
    settings = settings_or_exit()

    async def work(runtime: Runtime) -> None:
        async with runtime.sessionmaker() as session:
            tenant_id = await _tenant_id(session, tenant)
            batches = await service.list_batches(session, tenant_id=tenant_id)
            sales = await service.sales_by_batch(session, tenant_id=tenant_id)
        table = Table("batch", "router", "profile", "on the router", "status", "price", "sold")
        for b in batches:
            sold = sales.get(b.id, (0, Decimal(0)))
            table.add_row(
                str(b.id),
                str(b.router_id),
                b.profile_name,
                f"{b.on_router} of {b.count}",
                b.status,
                str(b.price),
                f"{sold[0]} ({sold[1]})",
            )
        out.print(table)

    run(with_runtime(settings, work))


@voucher_app.command("print")
def print_batch(
    batch_id: int = typer.Argument(..., help="Batch id."),
    tenant: str = TENANT,
    output: Path = typer.Option(..., "--out", help="Where to write the PDF."),
    per_page: int = typer.Option(DEFAULT_PER_PAGE, "--per-page"),
) -> None:
    """Write the batch's A4 sheet (codes, prices, QR codes) as a PDF."""
    settings = settings_or_exit()

    async def work(runtime: Runtime) -> None:
        async with runtime.sessionmaker() as session:
            tenant_id = await _tenant_id(session, tenant)
            try:
                sheet = await exports.sheet_file(
                    session,
                    runtime.vault,
                    tenant_id=tenant_id,
                    batch_id=batch_id,
                    per_page=per_page,
                )
            except InvalidInput as exc:
                raise fail(f"{exc.field}: {exc.message}") from None
        with output.open("wb") as target:
            for chunk in exports.file_chunks(sheet):
                target.write(chunk)
        out.print(f"wrote {output}")

    run(with_runtime(settings, work))


@voucher_app.command("delete")
def delete_batch(
    batch_id: int = typer.Argument(..., help="Batch id."),
    tenant: str = TENANT,
    here: bool = typer.Option(False, "--here", help="Remove it in this process (no worker)."),
    timeout: float = typer.Option(600.0, "--timeout"),
) -> None:
    """Delete a batch: exactly its users are removed from the router."""
    settings = settings_or_exit()

    async def work(runtime: Runtime) -> int:
        async with runtime.sessionmaker() as session:
            tenant_id = await _tenant_id(session, tenant)
            batch = await service.delete_batch(
                session, tenant_id=tenant_id, batch_id=batch_id, actor="cli"
            )
        return await _follow(runtime, batch, here=here, timeout=timeout)

    raise typer.Exit(run(with_runtime(settings, work)))
