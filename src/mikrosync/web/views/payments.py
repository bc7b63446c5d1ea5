"""Payments in the console: the list (filters, totals, revenue chart, CSV export), unmatched
payments assigned to a subscriber or marked refunded, and on the subscriber page the wallet
ledger with a form to record a cash payment.

Every write calls the same service as the REST API (`payments/service.py`) and then pushes the
subscriber's job with `runtime.hint`, as every writer does.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from pydantic import ValidationError
from sqlalchemy import func, select

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.http.fields import MAX_ID, Id
from mikrosync.jobs.message_push import after_payment
from mikrosync.jobs.push import push_intents
from mikrosync.payments import queries, service
from mikrosync.payments import settings as payment_settings
from mikrosync.payments.models import Method, MpesaAccount, PaymentStatus
from mikrosync.payments.mpesa.client import DarajaError
from mikrosync.payments.mpesa.stk import start_stk_push
from mikrosync.payments.schemas import PaymentFilters
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.queries import get_subscriber
from mikrosync.web.deps import DbDep, Operator, Reader, RuntimeDep, WebUser
from mikrosync.web.forms import Form
from mikrosync.web.htmx import pick
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router
from mikrosync.web.templating import zone

router = web_router()

CHART_DAYS = 30
CHART_MONTHS = 12
_METHODS = tuple((m.value, m.value) for m in Method)
_STATUSES = tuple((s.value, s.value) for s in PaymentStatus)
_FILTER_KEYS = ("method", "status", "matched", "q", "page", "subscriber_id")


def _day(value: str | None, tz: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as the start of that day in the tenant's zone (the end: the start
    of the next day, so the day is included)."""
    if not value:
        return None
    start = datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(), tzinfo=tz)
    return start + timedelta(days=1) if end else start


def _filters(request: Request, tz: ZoneInfo) -> tuple[PaymentFilters, dict[str, str], str | None]:
    raw = {k: v for k, v in request.query_params.items() if v != ""}
    shown = {k: v for k, v in raw.items() if k in (*_FILTER_KEYS, "date_from", "date_to")}
    try:
        data: dict[str, Any] = {k: v for k, v in raw.items() if k in _FILTER_KEYS}
        data["date_from"] = _day(raw.get("date_from"), tz)
        data["date_to"] = _day(raw.get("date_to"), tz, end=True)
        return PaymentFilters.model_validate(data), shown, None
    except (ValidationError, ValueError):
        return PaymentFilters(), {}, "Some filters were not understood; showing everything."


def _bars(points: list[tuple[str, Decimal]]) -> list[dict[str, Any]]:
    """Bar heights in percent of the largest value, for the inline SVG chart (no script)."""
    top = max((v for _, v in points), default=Decimal("0"))
    return [
        {"label": label, "value": value, "pct": float(value / top * 100) if top else 0.0}
        for label, value in points
    ]


def _last_days(totals: dict[str, Decimal], tz: ZoneInfo) -> list[tuple[str, Decimal]]:
    """The last CHART_DAYS days (today included), zero where nothing was paid."""
    today = now().astimezone(tz).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(CHART_DAYS - 1, -1, -1)]
    return [(day, totals.get(day, Decimal("0"))) for day in days]


@router.get("/payments")
async def list_payments(request: Request, db: DbDep, user: Reader) -> Response:
    tz = zone(user.timezone)
    filters, shown, problem = _filters(request, tz)
    items, total, amount = await queries.list_payments(
        db, tenant_id=user.tenant_id, filters=filters
    )
    days, months = await queries.revenue(
        db, tenant_id=user.tenant_id, since=now() - timedelta(days=366), tz=tz
    )
    names = await _usernames(db, user.tenant_id, {p.subscriber_id for p in items})
    rules = await payment_settings.load(db, user.tenant_id)
    kept = {k: v for k, v in shown.items() if k != "page"}
    context = {
        "items": items,
        "total": total,
        "amount": amount,
        "currency": rules.currency,
        "filters": filters,
        "shown": Form(values=kept),
        "methods": _METHODS,
        "statuses": _STATUSES,
        "yes_no": (("true", "yes"), ("false", "no")),
        "pages": max(1, math.ceil(total / filters.per_page)),
        "query": urlencode(kept),
        "names": names,
        "problem": problem,
        "days": _bars(_last_days(dict(days), tz)),
        "months": _bars(months[-CHART_MONTHS:]),
        "section": "payments",
    }
    return render(request, pick(request, "payments/list.html", "payments/_table.html"), context)


async def _usernames(db: DbDep, tenant_id: int, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await db.execute(
        select(Subscriber.id, Subscriber.username).where(
            Subscriber.tenant_id == tenant_id, Subscriber.id.in_(wanted)
        )
    )
    return {row[0]: row[1] for row in rows}


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/payments/export.csv")
async def export_payments(request: Request, db: DbDep, user: Reader) -> Response:
    """Every payment matching the list's filters, oldest first."""
    filters, _shown, _problem = _filters(request, zone(user.timezone))
    rows = await queries.all_payments(db, tenant_id=user.tenant_id, filters=filters)
    names = await _usernames(db, user.tenant_id, {p.subscriber_id for p in rows})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "received_at",
            "amount",
            "method",
            "status",
            "reference",
            "subscriber",
            "account",
            "payer_phone",
            "payer_name",
            "recorded_by",
        ]
    )
    for p in rows:
        writer.writerow(
            [
                p.id,
                p.received_at.isoformat(),
                f"{p.amount:.2f}",
                p.method,
                p.status,
                _cell(p.provider_reference),
                _cell(names.get(p.subscriber_id or 0, "")),
                _cell(p.account_reference),
                _cell(p.payer_phone),
                _cell(p.payer_name),
                _cell(p.recorded_by),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="payments.csv"'},
    )


async def _find_subscriber(db: DbDep, user: WebUser, text: str | None) -> int:
    """The subscriber an operator typed: a username (unique in the tenant) or #id."""
    if not text:
        raise InvalidInput("subscriber", "enter a username or #id")
    number = text.lstrip("#")
    if number.isdigit() and int(number) <= MAX_ID:
        found = await get_subscriber(db, tenant_id=user.tenant_id, subscriber_id=int(number))
        return found.id
    rows = (
        await db.scalars(
            select(Subscriber.id)
            .where(
                Subscriber.tenant_id == user.tenant_id,
                func.lower(Subscriber.username) == text.lower(),
            )
            .limit(2)
        )
    ).all()
    if len(rows) != 1:
        raise InvalidInput(
            "subscriber",
            f"no single subscriber named {text!r}"
            + (" (several routers: use #id)" if rows else ""),
        )
    return rows[0]


@router.post("/payments/{payment_id}/assign")
async def assign_payment(
    request: Request, payment_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    back = "/payments?matched=false"
    # Another tenant's payment is not found (404) whatever the form says.
    await queries.get_payment(db, tenant_id=user.tenant_id, payment_id=payment_id)
    try:
        subscriber_id = await _find_subscriber(db, user, form.text("subscriber"))
        result = await service.assign_payment(
            db,
            tenant_id=user.tenant_id,
            payment_id=payment_id,
            subscriber_id=subscriber_id,
            actor=user.email,
        )
    except (InvalidInput, Conflict) as exc:
        return redirect(request, back, flash=f"Payment not assigned: {exc}", kind="error")
    if result.subscriber is not None:
        await push_intents(runtime.queue, [result.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, result)
    name = result.subscriber.username if result.subscriber else "?"
    return redirect(request, back, flash=f"Payment {payment_id} applied to {name}.")


@router.post("/payments/{payment_id}/refund")
async def refund_payment(request: Request, payment_id: Id, db: DbDep, user: Operator) -> Response:
    form = await Form.read(request)
    try:
        await service.mark_refunded(
            db,
            tenant_id=user.tenant_id,
            payment_id=payment_id,
            note=form.text("note"),
            actor=user.email,
        )
    except Conflict as exc:
        return redirect(request, "/payments", flash=str(exc), kind="error")
    return redirect(request, "/payments", flash=f"Payment {payment_id} marked as refunded.")


async def _wallet_context(db: DbDep, user: WebUser, subscriber_id: int) -> dict[str, Any]:
    subscriber = await get_subscriber(db, tenant_id=user.tenant_id, subscriber_id=subscriber_id)
    balance, entries = await queries.wallet(
        db, tenant_id=user.tenant_id, subscriber_id=subscriber_id
    )
    rules = await payment_settings.load(db, user.tenant_id)
    mpesa = await db.scalar(
        select(func.count())
        .select_from(MpesaAccount)
        .where(MpesaAccount.tenant_id == user.tenant_id)
    )
    return {
        "mpesa": bool(mpesa),
        "s": subscriber,
        "balance": balance,
        "entries": entries,
        "currency": rules.currency,
        "methods": (("cash", "cash"), ("bank", "bank"), ("other", "other")),
    }


@router.get("/subscribers/{subscriber_id}/wallet")
async def wallet(request: Request, subscriber_id: Id, db: DbDep, user: Reader) -> Response:
    """The wallet card of the subscriber page (loaded into it by htmx)."""
    context = await _wallet_context(db, user, subscriber_id) | {"form": Form()}
    return render(request, "payments/_wallet.html", context)


@router.post("/subscribers/{subscriber_id}/payments")
async def record_payment(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    url = f"/subscribers/{subscriber_id}"
    # Another tenant's subscriber is not found (404) whatever the form says.
    await get_subscriber(db, tenant_id=user.tenant_id, subscriber_id=subscriber_id)
    method = form.text("method") or "cash"
    if method not in ("cash", "bank", "other"):
        raise NotFound(f"no payment method {method!r}")
    try:
        result = await service.record_payment(
            db,
            tenant_id=user.tenant_id,
            data=service.NewPayment(
                amount=form.text("amount") or "",
                method=Method(method),
                provider=method,
                provider_reference=(form.text("reference") or "")[:64] or None,
                subscriber_id=subscriber_id,
                note=(form.text("note") or "")[:1000] or None,
            ),
            actor=user.email,
        )
    except InvalidInput as exc:
        return redirect(request, url, flash=f"Payment not recorded: {exc.message}", kind="error")
    if result.duplicate:
        return redirect(
            request, url, flash="That receipt was recorded before; nothing changed.", kind="error"
        )
    if result.subscriber is not None:
        await push_intents(runtime.queue, [result.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, result)
    renewal = result.renewal
    done = f"Payment of {result.payment.amount:.2f} recorded."
    if renewal is not None and renewal.periods:
        done += f" Renewed {renewal.periods} period(s); reconnection queued."
    elif renewal is not None and renewal.skipped:
        done += f" Credited only ({renewal.skipped})."
    return redirect(request, url, flash=done)


@router.post("/subscribers/{subscriber_id}/stk-push")
async def stk_push(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    """Prompt the payer's phone for an M-Pesa payment; it is recorded when Daraja calls back."""
    form = await Form.read(request)
    url = f"/subscribers/{subscriber_id}"
    await get_subscriber(db, tenant_id=user.tenant_id, subscriber_id=subscriber_id)
    try:
        started = await start_stk_push(
            db,
            tenant_id=user.tenant_id,
            subscriber_id=subscriber_id,
            amount=form.text("amount") or "",
            phone=form.text("phone"),
            vault=runtime.vault,
            actor=user.email,
        )
    except (InvalidInput, DarajaError, NotFound) as exc:
        return redirect(request, url, flash=f"M-Pesa request not sent: {exc}", kind="error")
    if started.recorded is not None and started.recorded.subscriber is not None:
        await push_intents(runtime.queue, [started.recorded.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, started.recorded)
    return redirect(
        request,
        url,
        flash=f"M-Pesa prompt sent to {started.request.phone}; the payment appears here once paid.",
    )
