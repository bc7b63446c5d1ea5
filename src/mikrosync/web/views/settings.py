"""The tenant's settings page (owners): the time zone the console shows dates in."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.errors import InvalidInput
from mikrosync.web.audit import audited
from mikrosync.web.deps import DbDep, Owner
from mikrosync.web.forms import Form
from mikrosync.web.preferences import set_time_zone, time_zones
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router

router = web_router("/settings")


def _render(request: Request, form: Form, status_code: int = 200) -> Response:
    context = {"form": form, "zone_options": [(z, z) for z in time_zones()], "section": "settings"}
    return render(request, "settings.html", context, status_code=status_code)


@router.get("")
async def settings_page(request: Request, user: Owner) -> Response:
    return _render(request, Form(values={"timezone": user.timezone}))


@router.post("")
async def save_settings(request: Request, db: DbDep, user: Owner) -> Response:
    form = await Form.read(request)
    try:
        await set_time_zone(db, tenant_id=user.tenant_id, timezone=form.text("timezone") or "")
    except InvalidInput as exc:
        form.errors[exc.field] = exc.message
        return _render(request, form, status_code=422)
    await audited(request, db, user, "settings.timezone", target=form.text("timezone"))
    return redirect(request, "/settings", flash="Settings saved.")
