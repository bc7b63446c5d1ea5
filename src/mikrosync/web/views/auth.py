"""Log in and out. Login checks the same credentials as `POST /api/v1/auth/token`; the session
is a signed cookie (see `web/session.py`) with a CSRF token that is new at every login."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from mikrosync.tenants.service import authenticate
from mikrosync.web.deps import DbDep, WebSessionDep
from mikrosync.web.forms import FORM_ERROR, Form
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import local_path, web_router
from mikrosync.web.session import WebSession

router = web_router()


@router.get("/login")
async def login_page(
    request: Request, session: WebSessionDep, next_url: Annotated[str, Query(alias="next")] = "/"
) -> Response:
    if session is not None and session.user_id is not None:
        return redirect(request, local_path(next_url))
    form = Form(values={"next": local_path(next_url)})
    return render(request, "login.html", {"form": form}, session=session or WebSession.new())


@router.post("/login")
async def login(request: Request, db: DbDep) -> Response:
    form = await Form.read(request)
    user = await authenticate(
        db, email=form.text("email") or "", password=form.values.get("password", "")
    )
    if user is not None and user.tenant_id is None:
        form.errors[FORM_ERROR] = (
            "platform admins manage tenants through the API; "
            "log in as a tenant's staff user to use the console"
        )
    elif user is None:
        form.errors[FORM_ERROR] = "wrong email or password"
    if form.errors:
        form.values.pop("password", None)
        return render(request, "login.html", {"form": form}, status_code=400)
    assert user is not None
    return redirect(
        request, local_path(form.values.get("next", "/")), session=WebSession.new(user.id)
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    # A new anonymous session replaces the cookie: the old one (and its token) is gone.
    return redirect(request, "/login", flash="You are logged out.", session=WebSession.new())
