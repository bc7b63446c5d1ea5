"""`POST /subscribers/import`: subscribers from a CSV file, into one router.

The path sits under `/subscribers`; `import` can never be read as a subscriber id, since the
id routes take digits only (`{subscriber_id:int}`).

The CSV comes as the request body (`Content-Type: text/csv`) or as the multipart field
`file` (what an HTML form or `curl -F file=@subs.csv` sends). See docs/import.md.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from mikrosync.api.deps import Operator, RuntimeDep, SessionDep
from mikrosync.api.responses import OBJECTS, errors
from mikrosync.errors import InvalidInput
from mikrosync.http.fields import Id
from mikrosync.onboarding.csv_import import ImportInterrupted
from mikrosync.onboarding.rows import CsvFileError, decode
from mikrosync.routers import service as routers
from mikrosync.usecases.onboarding import import_csv_file

router = APIRouter(prefix="/subscribers", tags=["subscribers"], responses=OBJECTS)

MAX_CSV_BYTES = 20 * 1024 * 1024
"""About 100,000 rows; larger files are refused (413) rather than held in memory."""
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"})
_HOW = (
    "send the CSV as the request body with Content-Type: text/csv, or as the multipart "
    "form field 'file'"
)


class RowErrorRead(BaseModel):
    line: int
    field: str | None
    message: str


class ImportReport(BaseModel):
    """`created` counts the rows created, or in a dry run the rows that would be."""

    created: int
    skipped: int
    errors: list[RowErrorRead]
    dry_run: bool


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            # No `type`: every body is text on the wire, and any text gets a report, so there
            # is no request this schema could call malformed (a JSON value sent as text/csv
            # is text too).
            "text/csv": {
                "schema": {
                    "description": "The CSV file: a header line (`username`, `package`, ...) "
                    "and a row per subscriber; see docs/import.md"
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "/import", operation_id="importSubscribers", openapi_extra=_BODY_DOC, responses=errors(413, 503)
)
async def import_subscribers(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: Operator,
    router_id: Annotated[Id, Query(description="The router every row goes to.")],
    dry_run: Annotated[bool, Query(description="Check and report; write nothing.")] = False,
) -> ImportReport:
    """Import subscribers from CSV: bad rows are reported (line, field, reason) and skipped,
    good rows are created `pending` with an `addUser` intent and their jobs pushed. A file
    that is not an import CSV (empty, not UTF-8, no header line with the `username` and
    `package` columns, unknown or repeated columns, broken quoting) is reported the same way,
    as one error of the field `file`, with nothing created: any file is a well-formed body,
    so its content is the report's business, not a 422's. Another content type, or a
    multipart body without `file`, is a 422 naming `file`."""
    # Another tenant's router is a 404 whatever the body; no transaction held meanwhile.
    await routers.get_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    await session.rollback()
    data = await _csv_bytes(request)
    try:
        text = decode(data)
        result = await import_csv_file(
            runtime,
            tenant_id=principal.tenant_id,
            router_id=router_id,
            text=text,
            actor=principal.email,
            dry_run=dry_run,
        )
    except CsvFileError as exc:
        problem = RowErrorRead(line=_line_of(exc), field="file", message=str(exc))
        return ImportReport(created=0, skipped=0, errors=[problem], dry_run=dry_run)
    except ImportInterrupted as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return ImportReport(
        created=result.created_count,
        skipped=result.skipped,
        errors=[RowErrorRead(line=e.line, field=e.field, message=e.message) for e in result.errors],
        dry_run=result.dry_run,
    )


def _line_of(exc: CsvFileError) -> int:
    """The line a file problem names ("line 3: ..."); an empty file's is line 1."""
    found = re.match(r"line (\d+):", str(exc))
    return int(found.group(1)) if found else 1


async def _csv_bytes(request: Request) -> bytes:
    """The CSV file's bytes from either body form; 413 past MAX_CSV_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CSV_BYTES + 65536:
        raise _too_large()
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _multipart_file(request)
    if media_type not in CSV_TYPES:
        shown = media_type or "no Content-Type"
        raise InvalidInput("file", f"got {shown}; {_HOW}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_CSV_BYTES:
            raise _too_large()
    return bytes(body)


async def _multipart_file(request: Request) -> bytes:
    async with request.form(max_files=1) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file", f"the multipart body has no file field 'file'; {_HOW}")
        data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise _too_large()
    return data


def _too_large() -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the CSV is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB; split it into parts",
    )
