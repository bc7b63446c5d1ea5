"""Live sessions in the console: who is online on a router and for a subscriber (HTMX partials
polled every few seconds, served from `Runtime.live`'s short cache), the router's resources,
and "disconnect this session", recorded in the subscriber's (or voucher's) timeline."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.errors import InvalidInput
from mikrosync.http.fields import Id
from mikrosync.live.timeline import record_disconnect
from mikrosync.routeros import RouterOSError
from mikrosync.routeros.resources import ActiveKind
from mikrosync.routers import service as routers
from mikrosync.subscribers import queries
from mikrosync.web.deps import DbDep, Operator, Reader, RuntimeDep
from mikrosync.web.forms import Form
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import local_path, web_router

router = web_router()
KINDS: dict[str, ActiveKind] = {"ppp": "ppp", "hotspot": "hotspot"}


@router.get("/routers/{router_id}/live")
async def router_live(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Reader
) -> Response:
    found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    db.expunge(found)
    await db.rollback()  # no transaction held while the router answers
    live = await runtime.live.read(found)
    context = {"r": found, "live": live, "back": f"/routers/{router_id}"}
    return render(request, "live/_router.html", context)


@router.get("/subscribers/{subscriber_id}/sessions")
async def subscriber_sessions(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Reader
) -> Response:
    subscriber = await queries.get_subscriber(
        db, tenant_id=user.tenant_id, subscriber_id=subscriber_id
    )
    found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=subscriber.router_id)
    username = subscriber.username
    db.expunge(found)
    await db.rollback()
    live = await runtime.live.read(found)
    context = {
        "r": found,
        "live": live,
        "sessions": live.of_user(username),
        "back": f"/subscribers/{subscriber_id}",
        "subscriber_id": subscriber_id,
    }
    return render(request, "live/_subscriber.html", context)


@router.post("/routers/{router_id}/sessions/disconnect")
async def disconnect(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    found = await routers.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    form = await Form.read(request)
    kind = KINDS.get(form.values.get("kind", ""))
    session_id = form.values.get("session_id", "")
    if kind is None or not session_id.startswith("*"):
        raise InvalidInput("session_id", "no such session")
    back = local_path(form.values.get("back") or f"/routers/{router_id}")
    try:
        name = await runtime.live.disconnect(found, kind, session_id)
    except RouterOSError as exc:
        return redirect(request, back, flash=f"Could not disconnect: {exc.message}", kind="error")
    if name is None:
        return redirect(request, back, flash="That session had already ended.")
    detail = form.values.get("detail", "")[:200]
    where = await record_disconnect(db, found, name=name, detail=detail, actor=user.email)
    return redirect(request, back, flash=f"Session of {name} ended; recorded on {where}.")
