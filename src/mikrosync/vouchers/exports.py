"""What leaves the system for sale: the PDF sheet and the CSV export of a batch.

Shared by the API, the console and the CLI, so all three print and export the same thing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.session import SessionMaker
from mikrosync.errors import InvalidInput
from mikrosync.security.vault import Vault
from mikrosync.vouchers.models import PasswordMode, VoucherBatch
from mikrosync.vouchers.printing import DEFAULT_PER_PAGE, LAYOUTS, SheetInfo, render_sheet
from mikrosync.vouchers.schemas import routeros_duration
from mikrosync.vouchers.service import get_batch, iter_printable

# Up to this much of a sheet stays in memory; a larger one spills to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
READ_CHUNK = 64 * 1024
CSV_HEADER = ("code", "password", "state", "sold", "price", "validity", "profile")


def validity_text(batch: VoucherBatch) -> str:
    parts = []
    if batch.validity_minutes:
        parts.append(f"{routeros_duration(batch.validity_minutes * 60)} from first login")
    if batch.limit_uptime:
        parts.append(f"{batch.limit_uptime} online")
    if batch.limit_bytes_total:
        parts.append(f"{batch.limit_bytes_total // (1024 * 1024)} MiB")
    return ", ".join(parts) or "no limit"


def sheet_info(batch: VoucherBatch) -> SheetInfo:
    return SheetInfo(
        title=batch.comment or f"Hotspot voucher · {batch.profile_name}",
        price=batch.price,
        currency="",
        validity=validity_text(batch),
        login_url=batch.login_url,
        show_password=batch.password_mode == PasswordMode.SEPARATE,
    )


def check_per_page(per_page: int) -> int:
    if per_page not in LAYOUTS:
        raise InvalidInput("per_page", f"vouchers per page must be one of {sorted(LAYOUTS)}")
    return per_page


async def sheet_file(
    session: AsyncSession,
    vault: Vault,
    *,
    tenant_id: int,
    batch_id: int,
    per_page: int = DEFAULT_PER_PAGE,
) -> IO[bytes]:
    """The batch's PDF in a (spooled) temporary file, rewound; the caller closes it."""
    check_per_page(per_page)
    batch = await get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    info = sheet_info(batch)
    vouchers = [
        v async for v in iter_printable(session, vault, tenant_id=tenant_id, batch_id=batch_id)
    ]
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (caller closes)
    try:
        await asyncio.to_thread(render_sheet, out, info, vouchers, per_page=per_page)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    """Read a file out in chunks, closing it at the end (a streamed response body)."""
    try:
        while chunk := file.read(READ_CHUNK):
            yield chunk
    finally:
        file.close()


async def csv_lines(
    session: AsyncSession, vault: Vault, *, tenant_id: int, batch_id: int
) -> AsyncIterator[str]:
    """The batch as CSV, one line at a time (header first)."""
    batch = await get_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    validity = validity_text(batch)
    yield _line(CSV_HEADER)
    async for v in iter_printable(session, vault, tenant_id=tenant_id, batch_id=batch_id):
        row = (v.code, v.password, v.state, "yes" if v.sold else "no")
        yield _line((*row, str(batch.price), validity, batch.profile_name))


async def csv_stream(
    sessionmaker: SessionMaker, vault: Vault, tenant_id: int, batch_id: int
) -> AsyncIterator[str]:
    """`csv_lines` over a session of its own (a streamed response outlives the request's)."""
    async with sessionmaker() as session:
        async for line in csv_lines(session, vault, tenant_id=tenant_id, batch_id=batch_id):
            yield line


def _line(values: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()
