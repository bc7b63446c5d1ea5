"""Staff users (owners only, as `/api/v1/users`): invite with a one-time password, change a
role, disable or enable, reset a password. Every change goes to the audit log."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.errors import Conflict, InvalidInput
from mikrosync.http.fields import Id
from mikrosync.tenants import staff_admin
from mikrosync.tenants.models import Role
from mikrosync.tenants.service import list_staff_users
from mikrosync.web.audit import audited
from mikrosync.web.deps import DbDep, Owner, WebUser
from mikrosync.web.forms import Form
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router

router = web_router("/staff")
ROLE_OPTIONS = [(role.value, role.value) for role in Role]


async def _page(
    request: Request, db: DbDep, user: WebUser, form: Form, status_code: int = 200
) -> Response:
    context = {
        "staff": await list_staff_users(db, tenant_id=user.tenant_id),
        "form": form,
        "role_options": ROLE_OPTIONS,
        "section": "staff",
    }
    return render(request, "staff/list.html", context, status_code=status_code)


@router.get("")
async def staff_page(request: Request, db: DbDep, user: Owner) -> Response:
    return await _page(request, db, user, Form(values={"role": Role.OPERATOR.value}))


def _handover(request: Request, email: str, password: str, what: str) -> Response:
    """The one-time password, shown on this response only (never in a cookie or a URL)."""
    context = {"email": email, "password": password, "what": what, "section": "staff"}
    response = render(request, "staff/password.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/invite")
async def invite(request: Request, db: DbDep, user: Owner) -> Response:
    form = await Form.read(request)
    try:
        invited, password = await staff_admin.invite(
            db,
            tenant_id=user.tenant_id,
            email=form.text("email") or "",
            role=form.text("role") or "",
        )
    except InvalidInput as exc:
        form.errors[exc.field] = exc.message
        return await _page(request, db, user, form, status_code=422)
    except Conflict as exc:
        form.errors["email"] = str(exc)
        return await _page(request, db, user, form, status_code=422)
    await audited(request, db, user, "staff.invite", target=invited.email, detail=invited.role)
    return _handover(request, invited.email, password, "invited")


@router.post("/{user_id}/role")
async def change_role(request: Request, user_id: Id, db: DbDep, user: Owner) -> Response:
    form = await Form.read(request)
    try:
        changed = await staff_admin.set_role(
            db,
            tenant_id=user.tenant_id,
            user_id=user_id,
            role=form.text("role") or "",
            by_user_id=user.principal.user_id,
        )
    except (Conflict, InvalidInput) as exc:
        return redirect(request, "/staff", flash=str(exc), kind="error")
    await audited(request, db, user, "staff.role", target=changed.email, detail=changed.role)
    return redirect(request, "/staff", flash=f"{changed.email} is now {changed.role}.")


@router.post("/{user_id}/active")
async def set_active(request: Request, user_id: Id, db: DbDep, user: Owner) -> Response:
    form = await Form.read(request)
    active = form.text("active") == "true"
    try:
        changed = await staff_admin.set_active(
            db,
            tenant_id=user.tenant_id,
            user_id=user_id,
            active=active,
            by_user_id=user.principal.user_id,
        )
    except Conflict as exc:
        return redirect(request, "/staff", flash=str(exc), kind="error")
    action = "staff.enable" if active else "staff.disable"
    await audited(request, db, user, action, target=changed.email)
    state = "enabled" if active else "disabled: their sessions end at their next click"
    return redirect(request, "/staff", flash=f"{changed.email} {state}.")


@router.post("/{user_id}/reset")
async def reset_password(request: Request, user_id: Id, db: DbDep, user: Owner) -> Response:
    changed, password = await staff_admin.reset_password(
        db, tenant_id=user.tenant_id, user_id=user_id
    )
    await audited(request, db, user, "staff.reset_password", target=changed.email)
    return _handover(request, changed.email, password, "given a new password")
