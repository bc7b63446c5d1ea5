"""Log in and out. Login checks the same credentials as `POST /api/v1/auth/token`, behind the
same throttle of repeated failures (so the form is no way around it); the login is a signed
cookie (see `web/login_cookie.py`) with a CSRF token that is new at every login."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from sqlalchemy import select

from mikrosync.audit import log
from mikrosync.http.client import client_address
from mikrosync.http.fields import NUL_MESSAGE, has_nul
from mikrosync.tenants.models import StaffUser
from mikrosync.tenants.service import authenticate, get_tenant, load_principal
from mikrosync.web.deps import DbDep, RuntimeDep, WebLoginDep
from mikrosync.web.forms import FORM_ERROR, Form
from mikrosync.web.login_cookie import WebLogin
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import local_path, web_router

router = web_router()


@router.get("/login")
async def login_page(
    request: Request,
    db: DbDep,
    login: WebLoginDep,
    next_url: Annotated[str, Query(alias="next")] = "/",
) -> Response:
    if login is not None and login.user_id is not None:
        principal = await load_principal(db, user_id=login.user_id)
        tenant_id = principal.tenant_id if principal is not None else None
        if tenant_id is not None and (await get_tenant(db, tenant_id=tenant_id)).is_active:
            return redirect(request, local_path(next_url))
        # A login of a user (or tenant) disabled or removed since: forget it, or the page
        # they asked for and this one would send the browser back and forth forever.
        login = WebLogin.new()
    form = Form(values={"next": local_path(next_url)})
    return render(request, "login.html", {"form": form}, login=login or WebLogin.new())


def _refused(request: Request, form: Form, message: str, status_code: int = 400) -> Response:
    form.errors[FORM_ERROR] = message
    return render(request, "login.html", {"form": form}, status_code=status_code)


@router.post("/login")
async def login(request: Request, db: DbDep, runtime: RuntimeDep) -> Response:
    form = await Form.read(request)
    password = form.values.pop("password", "")  # never sent back to the page
    email = form.text("email") or ""
    # PostgreSQL cannot even compare a NUL: refuse it beside its field, as the API does.
    if has_nul(email):
        form.errors["email"] = f"the email {NUL_MESSAGE}"
    if has_nul(password):  # the password field is not echoed: say it above the form
        form.errors[FORM_ERROR] = f"the password {NUL_MESSAGE}"
    if form.errors:
        form.values["email"] = email.replace("\x00", "")
        return render(request, "login.html", {"form": form}, status_code=422)
    address = client_address(request)
    throttle = runtime.login_throttle
    wait = await throttle.retry_after(email, address)
    if wait is not None:
        message = f"too many failed logins; try again in {wait} seconds"
        response = _refused(request, form, message, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = await authenticate(db, email=email, password=password)
    if user is None:
        await throttle.failed(email, address)
        await _audit_failed_login(db, email, address)
        return _refused(request, form, "wrong email or password")
    await throttle.succeeded(email)
    if user.tenant_id is None:
        return _refused(
            request,
            form,
            "platform admins manage tenants through the API; "
            "log in as a tenant's staff user to use the console",
        )
    target = local_path(form.values.get("next", "/"))
    await log.record(
        db, tenant_id=user.tenant_id, actor=user.email, action="staff.login", ip=address
    )
    return redirect(request, target, login=WebLogin.new(user.id))


async def _audit_failed_login(db: DbDep, email: str, address: str | None) -> None:
    """A failed login for a known tenant user goes to that tenant's log (an unknown email
    belongs to no tenant, so it has no log to go to)."""
    found = await db.scalars(select(StaffUser).where(StaffUser.email == email.lower()))
    user = found.one_or_none()
    if user is not None and user.tenant_id is not None:
        await log.record(
            db, tenant_id=user.tenant_id, actor=user.email, action="staff.login_failed", ip=address
        )


@router.post("/logout")
async def logout(request: Request) -> Response:
    # A new anonymous login replaces the cookie: the old one (and its token) is gone.
    return redirect(request, "/login", flash="You are logged out.", login=WebLogin.new())
