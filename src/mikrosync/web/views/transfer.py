"""Moving data in and out of the console: CSV export of the subscriber list as filtered,
CSV import with a preview and per-row errors (the API's import, `imports/csv_import.py`), and
router adoption with its dry run (`imports/adopt.py`, as `mikrosync import-router`).

The import is two steps: "Check" reads the uploaded file and writes nothing (a dry run of the
same import); "Import" sends the same file again (the browser still holds it: the check is
shown by htmx without leaving the page) and it is checked again as it is written. The file is
never sent back to the page: the preview masks the password column.
"""

from __future__ import annotations

import csv
from collections import Counter

from fastapi import Request, Response
from starlette.datastructures import UploadFile

from mikrosync.errors import InvalidInput
from mikrosync.http.fields import MAX_ID, Id
from mikrosync.jobs.push import push_intents
from mikrosync.onboarding.adopt import adopt, preview
from mikrosync.onboarding.csv_import import ImportInterrupted, import_csv
from mikrosync.onboarding.rows import CsvFileError, decode
from mikrosync.packages import service as packages
from mikrosync.routeros import RouterOSError
from mikrosync.routers import service as routers
from mikrosync.subscribers import queries
from mikrosync.web.audit import audited
from mikrosync.web.deps import Admin, DbDep, Operator, Reader, RuntimeDep, WebUser
from mikrosync.web.exports import csv_response, local
from mikrosync.web.forms import Form
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router
from mikrosync.web.templating import zone
from mikrosync.web.views.subscribers import _filters

router = web_router()

# The console keeps the checked file in the preview page: bigger files go through the API/CLI.
MAX_CONSOLE_CSV_BYTES = 5 * 1024 * 1024
EXPORT_LIMIT = 100_000
PREVIEW_ROWS = 20
EXPORT_HEADER = (
    "username",
    "service",
    "router",
    "package",
    "full_name",
    "phone",
    "email",
    "address",
    "remote_address",
    "static_ip",
    "expires_at",
    "suspended",
    "sync_status",
    "sync_error",
    "last_synced_at",
)


@router.get("/subscribers.csv")
async def export_subscribers(request: Request, db: DbDep, user: Reader) -> Response:
    """Every subscriber matching the list's filters (not just one page), times in the
    tenant's zone. No password: they are never shown."""
    filters, _problem = _filters(request)
    filters = filters.model_copy(update={"page": 1, "per_page": EXPORT_LIMIT})
    # model_copy does not validate: the export goes past the list's 500 rows per page.
    items, _total = await queries.list_subscribers(db, tenant_id=user.tenant_id, filters=filters)
    found_routers = {r.id: r.name for r in await routers.list_routers(db, tenant_id=user.tenant_id)}
    found_packages = {
        p.id: p.name for p in await packages.list_packages(db, tenant_id=user.tenant_id)
    }
    tz = zone(user.timezone)
    rows = (
        [
            s.username,
            s.service,
            found_routers.get(s.router_id, ""),
            found_packages.get(s.package_id, ""),
            s.full_name,
            s.phone,
            s.email,
            s.address,
            s.remote_address,
            s.static_ip,
            local(s.expires_at, tz),
            (s.suspend_reason or "manual") if s.is_suspended else "",
            s.sync_status,
            s.sync_error_message,
            local(s.last_synced_at, tz),
        ]
        for s in items
    )
    return csv_response(EXPORT_HEADER, rows, "subscribers.csv")


async def _import_page(
    request: Request, db: DbDep, user: WebUser, form: Form, status_code: int = 200, **extra: object
) -> Response:
    found = await routers.list_routers(db, tenant_id=user.tenant_id)
    context = {
        "form": form,
        "router_options": [(r.id, r.name) for r in found],
        "section": "subscribers",
        "report": None,
        "preview": [],
    } | extra
    return render(request, "import.html", context, status_code=status_code)


@router.get("/import")
async def import_page(request: Request, db: DbDep, user: Operator) -> Response:
    form = Form(values={"router_id": request.query_params.get("router_id", "")})
    return await _import_page(request, db, user, form)


def _router_id(form: Form) -> int | None:
    value = form.text("router_id")
    if value is None or not value.isdigit() or int(value) > MAX_ID:
        form.errors["router_id"] = "choose the router the rows go to"
        return None
    return int(value)


async def _uploaded_text(request: Request, form: Form) -> str | None:
    data = await request.form()
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.errors["file"] = "choose a CSV file"
        return None
    raw = await upload.read(MAX_CONSOLE_CSV_BYTES + 1)
    if len(raw) > MAX_CONSOLE_CSV_BYTES:
        form.errors["file"] = "the file is larger than 5 MiB; import it with the API or the CLI"
        return None
    try:
        return decode(raw)
    except CsvFileError as exc:
        form.errors["file"] = str(exc)
        return None


@router.post("/import/check")
async def check_import(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    """The dry run: what would be created, and each bad row's line, column and reason."""
    form = await Form.read(request)
    router_id = _router_id(form)
    text = await _uploaded_text(request, form)
    if router_id is None or text is None:
        return await _import_page(request, db, user, form, status_code=422)
    return await _checked(request, db, runtime, user, form, router_id, text)


async def _checked(
    request: Request,
    db: DbDep,
    runtime: RuntimeDep,
    user: WebUser,
    form: Form,
    router_id: int,
    text: str,
) -> Response:
    try:
        report = await import_csv(
            runtime.sessionmaker,
            tenant_id=user.tenant_id,
            router_id=router_id,
            text=text,
            vault=runtime.vault,
            actor=user.email,
            dry_run=True,
        )
    except (CsvFileError, InvalidInput) as exc:
        form.errors["file" if isinstance(exc, CsvFileError) else exc.field] = str(exc)
        return await _import_page(request, db, user, form, status_code=422)
    return await _import_page(request, db, user, form, report=report, preview=_preview(text))


def _preview(text: str) -> list[list[str]]:
    """The first rows of the file as cells, the password column masked: a page never shows
    a subscriber's password, not even one the operator just uploaded."""
    lines = text.splitlines()[: PREVIEW_ROWS + 1]
    if not lines:
        return []
    delimiter = max(",;\t", key=lines[0].count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    secret = {
        i for i, name in enumerate(rows[0]) if name.strip().lower().replace(" ", "_") == "password"
    }
    return [rows[0]] + [
        ["••••" if i in secret and cell else cell for i, cell in enumerate(row)] for row in rows[1:]
    ]


@router.post("/import/apply")
async def apply_import(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    router_id = _router_id(form)
    text = await _uploaded_text(request, form)
    if router_id is None or text is None:
        return await _import_page(request, db, user, form, status_code=422)
    try:
        result = await import_csv(
            runtime.sessionmaker,
            tenant_id=user.tenant_id,
            router_id=router_id,
            text=text,
            vault=runtime.vault,
            actor=user.email,
        )
    except (CsvFileError, InvalidInput) as exc:
        form.errors["file"] = str(exc)
        return await _import_page(request, db, user, form, status_code=422)
    except ImportInterrupted as exc:
        await push_intents(runtime.queue, exc.created)
        return redirect(
            request, f"/subscribers?router_id={router_id}", flash=str(exc), kind="error"
        )
    await push_intents(runtime.queue, result.created)
    await audited(
        request,
        db,
        user,
        "import.csv",
        target=f"router #{router_id}",
        detail=f"{result.created_count} created, {result.skipped} skipped",
    )
    message = f"{result.created_count} subscriber(s) imported; Pending until the router has them."
    if result.skipped:
        message += f" {result.skipped} bad row(s) skipped: fix them and import those again."
    return redirect(
        request,
        f"/subscribers?router_id={router_id}",
        flash=message,
        kind="error" if result.skipped else "info",
    )


@router.get("/routers/{router_id}/adopt")
async def adoption_preview(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Admin
) -> Response:
    """The adoption's dry run: reads the router, writes nothing."""
    found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    db.expunge(found)
    await db.rollback()  # the router may take seconds: hold no transaction meanwhile
    error = None
    plan = None
    try:
        async with runtime.private_routers() as deps:
            plan = await preview(deps, tenant_id=user.tenant_id, router=found)
    except RouterOSError as exc:
        error = exc.message
    by_service = Counter(c.service for c in plan.candidates) if plan else Counter()
    context = {
        "r": found,
        "plan": plan,
        "error": error,
        "by_service": dict(by_service),
        "section": "routers",
    }
    return render(request, "routers/adopt.html", context)


@router.post("/routers/{router_id}/adopt")
async def adopt_router(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Admin
) -> Response:
    found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    db.expunge(found)
    await db.rollback()
    try:
        async with runtime.private_routers() as deps:
            plan = await preview(deps, tenant_id=user.tenant_id, router=found)
            result = await adopt(deps, found, plan, actor=user.email)
    except RouterOSError as exc:
        return redirect(
            request, f"/routers/{router_id}", flash=f"Adoption failed: {exc.message}", kind="error"
        )
    detail = f"{len(result.adopted)} adopted, {len(result.failed)} failed"
    await audited(request, db, user, "router.adopt", target=found.name, detail=detail)
    message = f"{len(result.adopted)} login(s) of {found.name} are now subscribers (synced)."
    if result.failed or result.stopped:
        message += f" {len(result.failed)} failed" + (
            f": {result.stopped}" if result.stopped else "."
        )
    return redirect(
        request,
        f"/subscribers?router_id={router_id}",
        flash=message,
        kind="error" if result.failed else "info",
    )
