"""Subscribers: the list (filters, live badges, bulk actions), the detail page (live sync state
and timeline), create and edit forms, and the sync actions.

Every write calls the same use case as the REST API (`mikrosync.usecases.subscribers`: the
write, its commit and the job hint), exactly as `api/routes/subscribers.py` does.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from pydantic import ValidationError

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.http.fields import MAX_ID, Id
from mikrosync.jobs.push import push_intents
from mikrosync.packages import service as packages
from mikrosync.routers import service as routers
from mikrosync.runtime import Runtime
from mikrosync.subscribers import moving, queries, service
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import SubscriberCreate, SubscriberFilters, SubscriberUpdate
from mikrosync.usecases import subscribers
from mikrosync.web import stats
from mikrosync.web.audit import audited
from mikrosync.web.deps import DbDep, Operator, Reader, RuntimeDep, WebUser
from mikrosync.web.forms import Form, reloaded
from mikrosync.web.htmx import pick
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import local_path, web_router
from mikrosync.web.templating import zone

router = web_router("/subscribers")
Action = Callable[..., Awaitable[Subscriber]]

TIMELINE_LENGTH = 50
MAX_BADGES = 500
_CONTACT = ("full_name", "phone", "email", "address")
_ADDRESSES = ("remote_address", "static_ip")
_CREATE_FIELDS = ("router_id", "package_id", "service", "username", "password")
EXPIRING_OPTIONS = (("1", "1 day"), ("3", "3 days"), ("7", "7 days"), ("30", "30 days"))
_STATUSES = (
    ("pending", "Pending"),
    ("syncing", "Syncing…"),
    ("synced", "Synced"),
    ("error", "Error"),
)


async def _lookups(db: DbDep, user: WebUser) -> dict[str, Any]:
    """The tenant's routers and packages by id (for names and offline markers) and as the
    options of selects."""
    found_routers = await routers.list_routers(db, tenant_id=user.tenant_id)
    found_packages = await packages.list_packages(db, tenant_id=user.tenant_id)
    return {
        "routers": {r.id: r for r in found_routers},
        "packages": {p.id: p for p in found_packages},
        "router_options": [(r.id, r.name) for r in found_routers],
        "package_options": [
            (p.id, f"{p.name} ({p.service}, {p.rate_limit})") for p in found_packages
        ],
    }


def _filters(request: Request) -> tuple[SubscriberFilters, str | None]:
    raw = {
        key: value
        for key, value in request.query_params.items()
        if value != "" and key in SubscriberFilters.model_fields
    }
    try:
        return SubscriberFilters.model_validate(raw), None
    except ValidationError:
        return SubscriberFilters(), "Some filters were not understood; showing everything."


@router.get("")
async def list_subscribers(request: Request, db: DbDep, user: Reader) -> Response:
    filters, problem = _filters(request)
    items, total = await queries.list_subscribers(db, tenant_id=user.tenant_id, filters=filters)
    last_page = max(1, math.ceil(total / filters.per_page))
    if filters.page > last_page:
        # A page past the end (a bookmark, rows deleted since): show the last one.
        filters = filters.model_copy(update={"page": last_page})
        items, total = await queries.list_subscribers(db, tenant_id=user.tenant_id, filters=filters)
    kept = filters.model_dump(exclude={"page", "per_page"}, exclude_none=True)
    shown = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in kept.items()}
    context = {
        "items": items,
        "total": total,
        "filters": filters,
        "shown": Form(values=shown),
        "status_options": _STATUSES,
        "yes_no": (("true", "yes"), ("false", "no")),
        "expiring_options": EXPIRING_OPTIONS,
        "pages": max(1, math.ceil(total / filters.per_page)),
        "query": urlencode(shown),
        "back": local_path(str(request.url)),
        "problem": problem,
        "section": "subscribers",
    }
    context |= await _lookups(db, user)
    return render(
        request, pick(request, "subscribers/list.html", "subscribers/_table.html"), context
    )


@router.get("/badges")
async def badges(
    request: Request,
    db: DbDep,
    user: Reader,
    ids: Annotated[list[int] | None, Query()] = None,
) -> Response:
    """The live sync badges of the list's rows, as out-of-band swaps (polled every 2 s)."""
    wanted = (ids or [])[:MAX_BADGES]
    found = await stats.subscribers_by_id(db, tenant_id=user.tenant_id, ids=wanted)
    context = {"ids": wanted, "found": found} | await _lookups(db, user)
    return render(request, "subscribers/_badges.html", context)


async def _render_form(
    request: Request,
    db: DbDep,
    user: WebUser,
    form: Form,
    subscriber: Subscriber | None = None,
    status_code: int = 200,
) -> Response:
    # What was typed comes back, except the password: never sent to a page (as for routers).
    # In the browser it stays in its field all the same (htmx, hx-preserve: form.html).
    form.values.pop("password", None)
    context = await _lookups(db, user) | {
        "form": form,
        "s": subscriber,
        "section": "subscribers",
    }
    return render(request, "subscribers/form.html", context, status_code=status_code)


@router.get("/new")
async def new_subscriber(request: Request, db: DbDep, user: Operator) -> Response:
    form = Form(values={"service": "pppoe", "router_id": request.query_params.get("router_id", "")})
    return await _render_form(request, db, user, form)


@router.post("/new")
async def create_subscriber(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    data = form.payload(_CREATE_FIELDS + _ADDRESSES + _CONTACT)
    data["expires_at"] = _checked_expiry(form, user)
    created = await form.submit(
        SubscriberCreate,
        data,
        lambda built: subscribers.create_subscriber(
            runtime, db, tenant_id=user.tenant_id, data=built, actor=user.email
        ),
    )
    if created is None:
        return await _render_form(request, db, user, form, status_code=422)
    await push_intents(runtime.queue, [created])
    await audited(request, db, user, "subscriber.create", target=created.username)
    message = f"Subscriber {created.username} created; it stays Pending until the router has it."
    twins = await stats.same_username_elsewhere(db, tenant_id=user.tenant_id, subscriber=created)
    if twins:
        message += f" Note: {created.username} is also used on router {', '.join(twins)}."
    return redirect(request, f"/subscribers/{created.id}", flash=message)


PAST_EXPIRY = (
    "this date is in the past: the subscriber would be pushed enabled, then cut at once; "
    "tick the box below to save it anyway"
)


def _checked_expiry(form: Form, user: WebUser) -> datetime | None:
    """The form's expiry; one in the past is a field error unless the operator confirmed it
    (the box shows with the error)."""
    expires_at = form.local_datetime("expires_at", zone(user.timezone))
    if expires_at is not None and expires_at <= now() and not form.checked("confirm_past_expiry"):
        form.errors["expires_at"] = PAST_EXPIRY
    return expires_at


BulkAction = Callable[[DbDep, WebUser, int], Awaitable[Subscriber]]


def _bulk_actions(
    form: Form, runtime: Runtime, moved: list[Subscriber]
) -> dict[str, tuple[BulkAction, str]]:
    """Each bulk action: what it does to one subscriber, and the words for "done"."""

    async def simple(action: Action, db: DbDep, user: WebUser, subscriber_id: int) -> Subscriber:
        return await _run(action, db, user, subscriber_id)

    async def package(db: DbDep, user: WebUser, subscriber_id: int) -> Subscriber:
        wanted = form.text("package_id")
        if wanted is None or not wanted.isdigit() or int(wanted) > MAX_ID:
            raise Conflict("choose a package")
        return await _updater(db, runtime, user, subscriber_id)(
            SubscriberUpdate(package_id=int(wanted))
        )

    async def move(db: DbDep, user: WebUser, subscriber_id: int) -> Subscriber:
        wanted = form.text("router_id")
        if wanted is None or not wanted.isdigit() or int(wanted) > MAX_ID:
            raise Conflict("choose a router")
        new, old = await moving.move_subscriber(
            db,
            tenant_id=user.tenant_id,
            subscriber_id=subscriber_id,
            router_id=int(wanted),
            vault=runtime.vault,
            actor=user.email,
        )
        moved.append(new)
        return old

    def plain(action: Action) -> BulkAction:
        return lambda db, user, subscriber_id: simple(action, db, user, subscriber_id)

    return {
        "suspend": (plain(service.suspend_subscriber), "suspend recorded"),
        "connect": (plain(service.connect_subscriber), "connect recorded"),
        "renew": (plain(service.renew_subscriber), "renewed"),
        "package": (package, "package change recorded"),
        "move": (move, "moved (created on the new router, removed from the old one)"),
    }


@router.post("/bulk")
async def bulk_action(request: Request, db: DbDep, runtime: RuntimeDep, user: Operator) -> Response:
    """Suspend, connect, renew, change the package of or move the selected subscribers, one
    service call (and transaction) each. Refusals are listed one per line, by username, in
    the operator's words."""
    form = await Form.read(request)
    data = await request.form()
    action = str(data.get("action"))
    back = local_path(str(data.get("back") or "/subscribers"))
    moved: list[Subscriber] = []
    actions = _bulk_actions(form, runtime, moved)
    if action not in actions:
        raise NotFound(f"no bulk action {action!r}")
    act, done_words = actions[action]
    ids = [int(str(v)) for v in data.getlist("ids") if str(v).isdigit() and int(str(v)) <= MAX_ID]
    if not ids:
        return redirect(
            request, back, flash="No subscriber was selected: tick the rows first.", kind="error"
        )
    names = {
        i: s.username
        for i, s in (await stats.subscribers_by_id(db, tenant_id=user.tenant_id, ids=ids)).items()
    }
    done: list[Subscriber] = []
    refused: list[str] = []
    for subscriber_id in ids:
        try:
            done.append(await act(db, user, subscriber_id))
        except (NotFound, Conflict, InvalidInput) as exc:
            who = names.get(subscriber_id, f"#{subscriber_id}")
            refused.append(f"{who}: {await _refusal(db, user, subscriber_id, exc, action)}")
    await push_intents(runtime.queue, done + moved)
    if done:
        await audited(
            request,
            db,
            user,
            f"subscriber.bulk_{action}",
            target=f"{len(done)} subscriber(s)",
            detail=", ".join(s.username for s in done),
        )
    message = f"{len(done)} subscriber(s): {done_words}."
    if refused:
        message += f" {len(refused)} refused:\n" + "\n".join(refused)
    return redirect(request, back, flash=message, kind="error" if refused else "info")


async def _refusal(
    db: DbDep, user: WebUser, subscriber_id: int, exc: Exception, action: str
) -> str:
    """A refusal in the console's words: an expired subscriber says when, in the tenant's
    zone, and what to do (the service's message names the API field instead)."""
    found = await stats.subscribers_by_id(db, tenant_id=user.tenant_id, ids=[subscriber_id])
    subscriber = found.get(subscriber_id)
    expires = subscriber.expires_at if subscriber is not None else None
    if action == "connect" and subscriber is not None and expires is not None and expires <= now():
        when = expires.astimezone(zone(user.timezone)).strftime("%Y-%m-%d %H:%M:%S")
        return f"expired on {when}; renew it first (Renew selected)"
    return str(exc)


@router.post("/retry")
async def retry_failed(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    """Re-queue every subscriber in `error`, on one router or all of them."""
    form = await Form.read(request)
    router_id = form.text("router_id")
    where = ""
    if router_id is not None:
        if not router_id.isdigit() or int(router_id) > MAX_ID:
            raise NotFound("router not found")
        found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=int(router_id))
        where = f" on router {found.name}"
    retried = await subscribers.retry_matching(
        runtime,
        db,
        tenant_id=user.tenant_id,
        actor=user.email,
        router_id=int(router_id) if router_id else None,
    )
    await push_intents(runtime.queue, retried)
    await audited(request, db, user, "subscriber.retry_failed", target=f"{len(retried)}{where}")
    back = local_path(form.values.get("back") or "/subscribers")
    return redirect(request, back, flash=f"{len(retried)} failed subscriber(s) retried{where}.")


@router.get("/{subscriber_id}")
async def subscriber_detail(
    request: Request, subscriber_id: Id, db: DbDep, user: Reader
) -> Response:
    subscriber = await queries.get_subscriber(
        db, tenant_id=user.tenant_id, subscriber_id=subscriber_id
    )
    events = await queries.list_events(
        db, tenant_id=user.tenant_id, subscriber_id=subscriber_id, limit=TIMELINE_LENGTH
    )
    lookups = await _lookups(db, user)
    context = lookups | {
        "s": subscriber,
        "events": events,
        "router": lookups["routers"][subscriber.router_id],
        "section": "subscribers",
    }
    return render(
        request, pick(request, "subscribers/detail.html", "subscribers/_live.html"), context
    )


def _edit_values(subscriber: Subscriber, tz_name: str) -> dict[str, str]:
    values = {name: getattr(subscriber, name) or "" for name in _ADDRESSES + _CONTACT}
    if subscriber.expires_at is not None:
        values["expires_at"] = subscriber.expires_at.astimezone(zone(tz_name)).strftime(
            "%Y-%m-%dT%H:%M"
        )
    return values


def _updater(
    db: DbDep, runtime: Runtime, user: WebUser, subscriber_id: int
) -> Callable[[SubscriberUpdate], Awaitable[Subscriber]]:
    """The PATCH of the API: contact fields quietly, router fields and package as intent."""

    async def update(data: SubscriberUpdate) -> Subscriber:
        return await subscribers.update_subscriber(
            runtime,
            db,
            tenant_id=user.tenant_id,
            subscriber_id=subscriber_id,
            data=data,
            actor=user.email,
        )

    return update


@router.get("/{subscriber_id}/edit")
async def edit_subscriber_form(
    request: Request, subscriber_id: Id, db: DbDep, user: Operator
) -> Response:
    subscriber = await queries.get_subscriber(
        db, tenant_id=user.tenant_id, subscriber_id=subscriber_id
    )
    form = Form(values=_edit_values(subscriber, user.timezone))
    return await _render_form(request, db, user, form, subscriber)


@router.post("/{subscriber_id}/edit")
async def edit_subscriber(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    subscriber = await queries.get_subscriber(
        db, tenant_id=user.tenant_id, subscriber_id=subscriber_id
    )
    form = await Form.read(request)
    data = form.payload(("password", *_ADDRESSES, *_CONTACT), clearable=_ADDRESSES + _CONTACT)
    expires_at = _checked_expiry(form, user)
    if expires_at is not None:
        data["expires_at"] = expires_at
    updated = await form.submit(SubscriberUpdate, data, _updater(db, runtime, user, subscriber_id))
    if updated is None:
        subscriber = await reloaded(db, subscriber)
        return await _render_form(request, db, user, form, subscriber, status_code=422)
    await push_intents(runtime.queue, [updated])
    changed = sorted(k for k in data if k != "password") + (
        ["password"] if "password" in data else []
    )
    await audited(
        request, db, user, "subscriber.edit", target=updated.username, detail=", ".join(changed)
    )
    return redirect(request, f"/subscribers/{subscriber_id}", flash="Changes saved.")


@router.post("/{subscriber_id}/package")
async def change_package(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    url = f"/subscribers/{subscriber_id}"
    updated = await form.submit(
        SubscriberUpdate,
        {"package_id": form.text("package_id")},
        _updater(db, runtime, user, subscriber_id),
    )
    if updated is None:
        message = "; ".join(form.errors.values())
        return redirect(request, url, flash=f"Package not changed: {message}", kind="error")
    await push_intents(runtime.queue, [updated])
    await audited(
        request,
        db,
        user,
        "subscriber.package",
        target=updated.username,
        detail=f"package id {updated.pending_package_id or updated.package_id}",
    )
    return redirect(
        request, url, flash="Package change recorded; it applies once the router has it."
    )


async def _run(action: Action, db: DbDep, user: WebUser, subscriber_id: int) -> Subscriber:
    return await action(db, tenant_id=user.tenant_id, subscriber_id=subscriber_id, actor=user.email)


def _add_action(name: str, action: Action, done: str, after: str = "/subscribers/{id}") -> None:
    async def endpoint(
        request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
    ) -> Response:
        try:
            result = await _run(action, db, user, subscriber_id)
        except Conflict as exc:
            return redirect(request, f"/subscribers/{subscriber_id}", flash=str(exc), kind="error")
        await push_intents(runtime.queue, [result])
        await audited(request, db, user, f"subscriber.{name}", target=result.username)
        target = after.format(
            id=subscriber_id,
            where=urlencode({"q": result.username, "router_id": result.router_id}),
        )
        return redirect(request, target, flash=done.format(name=result.username))

    endpoint.__name__ = f"{name}_subscriber"
    router.add_api_route(f"/{{subscriber_id}}/{name}", endpoint, methods=["POST"])


_add_action("suspend", service.suspend_subscriber, "Suspension of {name} recorded.")
_add_action("connect", service.connect_subscriber, "Reconnection of {name} recorded.")
_add_action("renew", service.renew_subscriber, "{name} renewed.")
_add_action("retry", service.retry_subscriber, "Retrying {name}.")
_add_action(
    "delete",
    service.delete_subscriber,
    "{name} is being removed from its router.",
    # The list filtered to the row being removed, so its badge is seen going to Removed.
    after="/subscribers?{where}",
)
