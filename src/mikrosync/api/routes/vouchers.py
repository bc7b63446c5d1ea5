"""Voucher batches and vouchers: create (a job carries the batch), list with progress, detail,
print (PDF), export (CSV), delete, retry; search a code, a voucher's timeline, sold marking,
sales totals. See docs/vouchers.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from mikrosync.api.deps import Operator, Reader, RuntimeDep, SessionDep, VaultDep
from mikrosync.api.responses import OBJECTS
from mikrosync.http.fields import Id, Page
from mikrosync.jobs.push import push_voucher_batch
from mikrosync.vouchers import exports, service
from mikrosync.vouchers.lifecycle import progress_text
from mikrosync.vouchers.printing import DEFAULT_PER_PAGE
from mikrosync.vouchers.schemas import (
    BatchSales,
    SalesDay,
    SoldUpdate,
    VoucherBatchCreate,
    VoucherBatchRead,
    VoucherDetail,
    VoucherEventRead,
    VoucherRead,
)

router = APIRouter(tags=["vouchers"], responses=OBJECTS)


class VoucherBatchDetail(VoucherBatchRead):
    progress: str
    states: dict[str, int]
    sold: int
    sales_total: Decimal


class Sales(BaseModel):
    by_day: list[SalesDay]
    by_batch: list[BatchSales]


@router.post(
    "/voucher-batches", operation_id="createVoucherBatch", status_code=status.HTTP_201_CREATED
)
async def create_batch(
    data: VoucherBatchCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    vault: VaultDep,
    principal: Operator,
) -> VoucherBatchRead:
    """Record a batch (every voucher as intent, one transaction), then carry it to its router
    through the queue (`syncVoucherBatch`). Watch `on_router` grow to `count`."""
    batch = await service.create_batch(
        session, vault, tenant_id=principal.tenant_id, data=data, actor=principal.email
    )
    await push_voucher_batch(runtime.queue, batch.id)
    return VoucherBatchRead.model_validate(batch)


@router.get("/voucher-batches", operation_id="listVoucherBatches")
async def list_batches(
    session: SessionDep, principal: Reader, include_deleted: bool = False
) -> list[VoucherBatchRead]:
    """The tenant's batches, newest first (deleted ones only on request)."""
    batches = await service.list_batches(
        session, tenant_id=principal.tenant_id, include_deleted=include_deleted
    )
    return [VoucherBatchRead.model_validate(b) for b in batches]


@router.get("/voucher-batches/{batch_id:int}", operation_id="getVoucherBatch")
async def get_batch(batch_id: Id, session: SessionDep, principal: Reader) -> VoucherBatchDetail:
    """One batch with its progress on the router, vouchers per state and its sales."""
    batch = await service.get_batch(session, tenant_id=principal.tenant_id, batch_id=batch_id)
    states = await service.batch_counts(session, tenant_id=principal.tenant_id, batch_id=batch_id)
    sales = await service.sales_by_batch(
        session, tenant_id=principal.tenant_id, batch_ids=[batch_id]
    )
    sold, total = sales.get(batch_id, (0, Decimal(0)))
    base: dict[str, Any] = VoucherBatchRead.model_validate(batch).model_dump()
    return VoucherBatchDetail(
        **base, progress=progress_text(batch, states), states=states, sold=sold, sales_total=total
    )


@router.get("/voucher-batches/{batch_id:int}/vouchers", operation_id="listBatchVouchers")
async def list_vouchers(
    batch_id: Id,
    session: SessionDep,
    principal: Reader,
    page: Page = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[VoucherRead]:
    """The batch's vouchers, `per_page` a page (never their passwords: see the export and the
    sheet)."""
    await service.get_batch(session, tenant_id=principal.tenant_id, batch_id=batch_id)
    vouchers = await service.list_vouchers(
        session,
        tenant_id=principal.tenant_id,
        batch_id=batch_id,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return [VoucherRead.model_validate(v) for v in vouchers]


@router.get(
    "/voucher-batches/{batch_id:int}/export.csv",
    operation_id="exportVoucherBatchCsv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_csv(
    batch_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> StreamingResponse:
    """The batch as CSV with codes and passwords (for sale), streamed."""
    await service.get_batch(session, tenant_id=principal.tenant_id, batch_id=batch_id)
    # Its own session: the body is produced after the request's session has ended.
    lines = exports.csv_stream(runtime.sessionmaker, runtime.vault, principal.tenant_id, batch_id)
    name = f"vouchers-{batch_id}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/voucher-batches/{batch_id:int}/print.pdf",
    operation_id="printVoucherBatchPdf",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string"}}}}},
)
async def print_batch(
    batch_id: Id,
    session: SessionDep,
    vault: VaultDep,
    principal: Operator,
    per_page: Annotated[
        int, Query(json_schema_extra={"enum": sorted(exports.LAYOUTS)})
    ] = DEFAULT_PER_PAGE,
) -> StreamingResponse:
    """The A4 sheet: `per_page` vouchers a page (8, 10, 12, 21, 24 or 40), each with a QR code
    of the hotspot login URL."""
    sheet = await exports.sheet_file(
        session, vault, tenant_id=principal.tenant_id, batch_id=batch_id, per_page=per_page
    )
    return StreamingResponse(
        exports.file_chunks(sheet),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="vouchers-{batch_id}.pdf"'},
    )


@router.delete(
    "/voucher-batches/{batch_id:int}",
    operation_id="deleteVoucherBatch",
    status_code=status.HTTP_202_ACCEPTED,
)
async def delete_batch(
    batch_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> VoucherBatchRead:
    """Remove the batch's users from the router (exactly those tagged for it); the batch then
    shows `deleted` (kept for sales history)."""
    batch = await service.delete_batch(
        session, tenant_id=principal.tenant_id, batch_id=batch_id, actor=principal.email
    )
    await push_voucher_batch(runtime.queue, batch.id)
    return VoucherBatchRead.model_validate(batch)


@router.post("/voucher-batches/{batch_id:int}/retry", operation_id="retryVoucherBatch")
async def retry_batch(
    batch_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> VoucherBatchRead:
    """Carry a batch again (after an error was fixed on the router)."""
    batch = await service.retry_batch(session, tenant_id=principal.tenant_id, batch_id=batch_id)
    await push_voucher_batch(runtime.queue, batch.id)
    return VoucherBatchRead.model_validate(batch)


@router.get("/vouchers", operation_id="searchVouchers")
async def search_vouchers(
    code: Annotated[str, Query(min_length=1, max_length=64)],
    session: SessionDep,
    principal: Reader,
) -> list[VoucherRead]:
    """Vouchers whose code contains `code` (case-insensitive)."""
    found = await service.search_vouchers(session, tenant_id=principal.tenant_id, code=code)
    return [VoucherRead.model_validate(v) for v in found]


@router.get("/vouchers/{voucher_id:int}", operation_id="getVoucher")
async def get_voucher(voucher_id: Id, session: SessionDep, principal: Reader) -> VoucherDetail:
    """One voucher and its timeline."""
    voucher = await service.get_voucher(
        session, tenant_id=principal.tenant_id, voucher_id=voucher_id
    )
    events = await service.voucher_events(
        session, tenant_id=principal.tenant_id, voucher_id=voucher_id
    )
    base: dict[str, Any] = VoucherRead.model_validate(voucher).model_dump()
    return VoucherDetail(**base, events=[VoucherEventRead.model_validate(e) for e in events])


@router.post("/vouchers/{voucher_id:int}/sold", operation_id="markVoucherSold")
async def mark_sold(
    voucher_id: Id, data: SoldUpdate, session: SessionDep, principal: Operator
) -> VoucherRead:
    """Mark a voucher sold (or not); sales totals count sold vouchers at the batch price."""
    voucher = await service.set_sold(
        session,
        tenant_id=principal.tenant_id,
        voucher_id=voucher_id,
        sold=data.sold,
        actor=principal.email,
    )
    return VoucherRead.model_validate(voucher)


@router.get("/voucher-sales", operation_id="getVoucherSales")
async def sales(
    session: SessionDep,
    principal: Reader,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> Sales:
    """Vouchers sold and their total per day (UTC) over the last `days`, and per batch."""
    by_day = await service.sales_by_day(session, tenant_id=principal.tenant_id, days=days)
    by_batch = await service.sales_by_batch(session, tenant_id=principal.tenant_id)
    return Sales(
        by_day=[SalesDay(day=d, sold=n, total=t) for d, n, t in by_day],
        by_batch=[
            BatchSales(batch_id=b, sold=n, total=t) for b, (n, t) in sorted(by_batch.items())
        ],
    )
