"""Every response of the web UI goes through `render` or `redirect`: they add the context all
pages share (user, role checks, CSRF token, flash message, time zone) and keep the login
cookie written the one right way (signed, HttpOnly, SameSite=Lax, Secure over HTTPS)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from mikrosync.http.client import is_https
from mikrosync.runtime import Runtime
from mikrosync.web import login_cookie as cookies
from mikrosync.web.csrf import CSRF_FIELD, CSRF_HEADER
from mikrosync.web.deps import WebUser
from mikrosync.web.htmx import is_htmx
from mikrosync.web.templating import build_templates, zone

templates = build_templates()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def current_login(request: Request) -> cookies.WebLogin | None:
    found: cookies.WebLogin | None = getattr(request.state, "web_login", None)
    return found


def current_user(request: Request) -> WebUser | None:
    found: WebUser | None = getattr(request.state, "web_user", None)
    return found


def write_login(request: Request, response: Response, login: cookies.WebLogin) -> None:
    runtime = _runtime(request)
    max_age = (
        runtime.settings.token_ttl_minutes * 60
        if login.user_id is not None
        else cookies.ANONYMOUS_TTL_S
    )
    response.set_cookie(
        cookies.COOKIE_NAME,
        cookies.dump(login, cookies.signing_key(runtime.secret_key)),
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    login: cookies.WebLogin | None = None,
) -> Response:
    """Render a template with the shared context; a flash message shown on a full page is
    used up (an htmx partial never shows it).

    `login`: a login to write instead of the request's (the login form's new one).
    """
    login = login or current_login(request)
    user = current_user(request)
    full_page = not is_htmx(request)
    shared: dict[str, Any] = {
        "user": user,
        "csrf": login.csrf if login else "",
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "flash": login.flash if login and full_page else None,
        "flash_kind": login.flash_kind if login else "info",
        "tz": zone(user.timezone if user else None),
        "tz_name": user.timezone if user else "UTC",
        "section": "",
    }
    response = templates.TemplateResponse(
        request, name, shared | (context or {}), status_code=status_code
    )
    shown_flash = full_page and login is not None and login.flash
    if login is not None and (shown_flash or login is not current_login(request)):
        write_login(request, response, login.with_flash(None))
    return response


def redirect(
    request: Request,
    url: str,
    *,
    flash: str | None = None,
    kind: str = "info",
    login: cookies.WebLogin | None = None,
) -> Response:
    """After a write: 303 to `url` (POST/redirect/GET), with a message for the next page.

    An htmx request gets `HX-Redirect` instead, so the browser loads the whole page.
    """
    if is_htmx(request):
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    login = login or current_login(request)
    if login is not None and (flash or login is not current_login(request)):
        write_login(request, response, login.with_flash(flash, kind))
    return response
