"""The tenant-wide audit log (admins and owners): who did what, when, from where; filtered
by person, kind of action, words and dates (in the tenant's zone), and exported as CSV."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import Request, Response

from mikrosync.audit import log
from mikrosync.web.deps import Admin, DbDep, WebUser
from mikrosync.web.exports import csv_response, local
from mikrosync.web.forms import Form
from mikrosync.web.responses import render
from mikrosync.web.routing import web_router
from mikrosync.web.templating import zone

router = web_router("/audit")
PER_PAGE = 100
ACTION_KINDS = [
    ("subscriber", "subscribers"),
    ("router", "routers"),
    ("package", "packages"),
    ("staff", "staff and logins"),
    ("settings", "settings"),
    ("jobs", "jobs"),
    ("import", "imports"),
]


def _filters(request: Request, user: WebUser) -> tuple[log.AuditFilters, Form]:
    """The filters of the query string; a date that does not parse is a field error."""
    form = Form(values={k: v for k, v in request.query_params.items() if v})
    tz = zone(user.timezone)

    def day(name: str) -> datetime | None:
        value = form.text(name)
        if value is None:
            return None
        try:
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=tz)
        except ValueError:
            form.errors[name] = "enter a date such as 2026-01-31"
            return None

    until = day("until")
    filters = log.AuditFilters(
        actor=form.text("actor"),
        action=form.text("action"),
        q=(form.text("q") or "")[:100] or None,
        since=day("since"),
        # "until 2026-01-31" includes that whole day.
        until=until + timedelta(days=1) if until else None,
    )
    return filters, form


@router.get("")
async def audit_page(request: Request, db: DbDep, user: Admin) -> Response:
    filters, form = _filters(request, user)
    page_text = request.query_params.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) < 10**6 else 1
    entries, total = await log.list_entries(
        db, tenant_id=user.tenant_id, filters=filters, page=page, per_page=PER_PAGE
    )
    pages = max(1, math.ceil(total / PER_PAGE))
    if page > pages:
        page = pages
        entries, total = await log.list_entries(
            db, tenant_id=user.tenant_id, filters=filters, page=page, per_page=PER_PAGE
        )
    kept = {k: v for k, v in form.values.items() if k != "page"}
    context = {
        "entries": entries,
        "total": total,
        "page": page,
        "pages": pages,
        "form": form,
        "query": urlencode(kept),
        "actor_options": [(a, a) for a in await log.actors(db, tenant_id=user.tenant_id)],
        "action_options": ACTION_KINDS,
        "section": "audit",
    }
    return render(request, "audit/list.html", context)


@router.get(".csv")
async def audit_csv(request: Request, db: DbDep, user: Admin) -> Response:
    filters, _form = _filters(request, user)
    entries = await log.all_entries(db, tenant_id=user.tenant_id, filters=filters)
    tz = zone(user.timezone)
    rows = (
        [
            e.created_at.isoformat(timespec="seconds"),
            local(e.created_at, tz),
            e.actor,
            e.action,
            e.target,
            e.detail,
            e.ip,
        ]
        for e in entries
    )
    header = ["time_utc", f"time ({user.timezone})", "who", "action", "target", "detail", "from"]
    return csv_response(header, rows, "audit-log.csv")
