"""Vouchers: batches with their "N of M on the router" progress (HTMX-polled while a batch is
being carried), the create form, a batch's page (print, CSV export, delete, retry, sold marks),
a voucher's timeline, code search and sales per day. Same services as the REST API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from mikrosync.http.fields import Id
from mikrosync.jobs.push import push_voucher_batch
from mikrosync.packages import service as packages
from mikrosync.packages.models import Service
from mikrosync.routers import service as routers
from mikrosync.vouchers import exports, service
from mikrosync.vouchers.codes import DEFAULT_ALPHABET
from mikrosync.vouchers.lifecycle import progress_text
from mikrosync.vouchers.models import BatchStatus
from mikrosync.vouchers.printing import DEFAULT_PER_PAGE, LAYOUTS
from mikrosync.vouchers.schemas import DEFAULT_LOGIN_URL, VoucherBatchCreate
from mikrosync.web.deps import DbDep, Operator, Reader, RuntimeDep
from mikrosync.web.forms import Form
from mikrosync.web.htmx import pick
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router

router = web_router("/vouchers")

_FIELDS = (
    "router_id",
    "package_id",
    "profile_name",
    "count",
    "code_length",
    "alphabet",
    "prefix",
    "password_mode",
    "price",
    "validity",
    "limit_uptime",
    "limit_bytes_total",
    "comment",
    "login_url",
)
SHOWN_VOUCHERS = 100
BUSY = (BatchStatus.PENDING, BatchStatus.DELETING)


@router.get("")
async def list_batches(request: Request, db: DbDep, user: Reader, code: str = "") -> Response:
    batches = await service.list_batches(db, tenant_id=user.tenant_id)
    names = {r.id: r.name for r in await routers.list_routers(db, tenant_id=user.tenant_id)}
    sales = await service.sales_by_batch(db, tenant_id=user.tenant_id)
    found = await service.search_vouchers(db, tenant_id=user.tenant_id, code=code) if code else None
    context: dict[str, Any] = {
        "batches": batches,
        "router_names": names,
        "sales": sales,
        "progress": {b.id: progress_text(b) for b in batches},
        "busy": any(b.status in BUSY for b in batches),
        "code": code,
        "found": found,
        "by_day": await service.sales_by_day(db, tenant_id=user.tenant_id, days=14),
        "section": "vouchers",
    }
    return render(request, pick(request, "vouchers/list.html", "vouchers/_batches.html"), context)


async def _render_form(
    request: Request, db: DbDep, tenant_id: int, form: Form, status_code: int = 200
) -> Response:
    all_packages = await packages.list_packages(db, tenant_id=tenant_id)
    context: dict[str, Any] = {
        "form": form,
        "routers": await routers.list_routers(db, tenant_id=tenant_id),
        "packages": [p for p in all_packages if p.service == Service.HOTSPOT],
        "layouts": sorted(LAYOUTS),
        "section": "vouchers",
    }
    return render(request, "vouchers/form.html", context, status_code=status_code)


@router.get("/new")
async def new_batch(request: Request, db: DbDep, user: Operator) -> Response:
    defaults = {
        "count": "100",
        "code_length": "8",
        "alphabet": DEFAULT_ALPHABET,
        "password_mode": "same",
        "validity": "1d",
        "login_url": DEFAULT_LOGIN_URL,
    }
    return await _render_form(request, db, user.tenant_id, Form(values=defaults))


@router.post("/new")
async def create_batch(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    created = await form.submit(
        VoucherBatchCreate,
        form.payload(_FIELDS),
        lambda data: service.create_batch(
            db, runtime.vault, tenant_id=user.tenant_id, data=data, actor=user.email
        ),
    )
    if created is None:
        await db.rollback()
        return await _render_form(request, db, user.tenant_id, form, status_code=422)
    await push_voucher_batch(runtime.queue, created.id)
    return redirect(
        request,
        f"/vouchers/batches/{created.id}",
        flash=f"Batch of {created.count} voucher(s) recorded; it is on its way to the router.",
    )


@router.get("/batches/{batch_id}")
async def batch_detail(request: Request, batch_id: Id, db: DbDep, user: Reader) -> Response:
    batch = await service.get_batch(db, tenant_id=user.tenant_id, batch_id=batch_id)
    states = await service.batch_counts(db, tenant_id=user.tenant_id, batch_id=batch_id)
    sold, total = (
        await service.sales_by_batch(db, tenant_id=user.tenant_id, batch_ids=[batch_id])
    ).get(batch_id, (0, Decimal(0)))
    found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=batch.router_id)
    context: dict[str, Any] = {
        "b": batch,
        "router": found,
        "states": states,
        "progress": progress_text(batch, states),
        "validity": exports.validity_text(batch),
        "busy": batch.status in BUSY,
        "sold": sold,
        "total": total,
        "vouchers": await service.list_vouchers(
            db, tenant_id=user.tenant_id, batch_id=batch_id, limit=SHOWN_VOUCHERS
        ),
        "shown": SHOWN_VOUCHERS,
        "layouts": sorted(LAYOUTS),
        "per_page": DEFAULT_PER_PAGE,
        "section": "vouchers",
    }
    return render(request, pick(request, "vouchers/batch.html", "vouchers/_progress.html"), context)


@router.get("/batches/{batch_id}/print.pdf")
async def print_batch(
    batch_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator, per_page: int = DEFAULT_PER_PAGE
) -> StreamingResponse:
    sheet = await exports.sheet_file(
        db, runtime.vault, tenant_id=user.tenant_id, batch_id=batch_id, per_page=per_page
    )
    return StreamingResponse(
        exports.file_chunks(sheet),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="vouchers-{batch_id}.pdf"'},
    )


@router.get("/batches/{batch_id}/export.csv")
async def export_batch(
    batch_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> StreamingResponse:
    await service.get_batch(db, tenant_id=user.tenant_id, batch_id=batch_id)
    return StreamingResponse(
        exports.csv_stream(runtime.sessionmaker, runtime.vault, user.tenant_id, batch_id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="vouchers-{batch_id}.csv"'},
    )


@router.post("/batches/{batch_id}/delete")
async def delete_batch(
    request: Request, batch_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    batch = await service.delete_batch(
        db, tenant_id=user.tenant_id, batch_id=batch_id, actor=user.email
    )
    await push_voucher_batch(runtime.queue, batch.id)
    return redirect(
        request,
        f"/vouchers/batches/{batch_id}",
        flash="Batch deleted: its users are being removed from the router.",
    )


@router.post("/batches/{batch_id}/retry")
async def retry_batch(
    request: Request, batch_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    batch = await service.retry_batch(db, tenant_id=user.tenant_id, batch_id=batch_id)
    await push_voucher_batch(runtime.queue, batch.id)
    return redirect(request, f"/vouchers/batches/{batch_id}", flash="Batch pushed again.")


@router.get("/codes/{voucher_id}")
async def voucher_detail(request: Request, voucher_id: Id, db: DbDep, user: Reader) -> Response:
    voucher = await service.get_voucher(db, tenant_id=user.tenant_id, voucher_id=voucher_id)
    batch = await service.get_batch(db, tenant_id=user.tenant_id, batch_id=voucher.batch_id)
    events = await service.voucher_events(db, tenant_id=user.tenant_id, voucher_id=voucher_id)
    context = {"v": voucher, "b": batch, "events": events, "section": "vouchers"}
    return render(request, "vouchers/voucher.html", context)


@router.post("/codes/{voucher_id}/sold")
async def mark_sold(request: Request, voucher_id: Id, db: DbDep, user: Operator) -> Response:
    form = await Form.read(request)
    sold = form.values.get("sold", "yes") == "yes"
    voucher = await service.set_sold(
        db, tenant_id=user.tenant_id, voucher_id=voucher_id, sold=sold, actor=user.email
    )
    back = form.values.get("back", "")
    target = back if back.startswith("/vouchers/") else f"/vouchers/codes/{voucher_id}"
    what = "sold" if sold else "not sold"
    return redirect(request, target, flash=f"Voucher {voucher.code} marked {what}.")
