"""Every response of the web UI goes through `render` or `redirect`: they add the context all
pages share (user, role checks, CSRF token, flash message, time zone) and keep the session
cookie written the one right way (signed, HttpOnly, SameSite=Lax, Secure over HTTPS)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from mikrosync.runtime import Runtime
from mikrosync.web import session as cookies
from mikrosync.web.csrf import CSRF_FIELD, CSRF_HEADER
from mikrosync.web.deps import WebUser
from mikrosync.web.htmx import is_htmx
from mikrosync.web.templating import build_templates, zone

templates = build_templates()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def current_session(request: Request) -> cookies.WebSession | None:
    found: cookies.WebSession | None = getattr(request.state, "web_session", None)
    return found


def current_user(request: Request) -> WebUser | None:
    found: WebUser | None = getattr(request.state, "web_user", None)
    return found


def write_session(request: Request, response: Response, session: cookies.WebSession) -> None:
    runtime = _runtime(request)
    max_age = (
        runtime.settings.token_ttl_minutes * 60
        if session.user_id is not None
        else cookies.ANONYMOUS_TTL_S
    )
    response.set_cookie(
        cookies.COOKIE_NAME,
        cookies.dump(session, cookies.signing_key(runtime.secret_key)),
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    session: cookies.WebSession | None = None,
) -> Response:
    """Render a template with the shared context; a flash message shown on a full page is
    used up (an htmx partial never shows it).

    `session`: a session to write instead of the request's (the login form's new one).
    """
    session = session or current_session(request)
    user = current_user(request)
    full_page = not is_htmx(request)
    shared: dict[str, Any] = {
        "user": user,
        "csrf": session.csrf if session else "",
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "flash": session.flash if session and full_page else None,
        "flash_kind": session.flash_kind if session else "info",
        "tz": zone(user.timezone if user else None),
        "tz_name": user.timezone if user else "UTC",
        "section": "",
    }
    response = templates.TemplateResponse(
        request, name, shared | (context or {}), status_code=status_code
    )
    shown_flash = full_page and session is not None and session.flash
    if session is not None and (shown_flash or session is not current_session(request)):
        write_session(request, response, session.with_flash(None))
    return response


def redirect(
    request: Request,
    url: str,
    *,
    flash: str | None = None,
    kind: str = "info",
    session: cookies.WebSession | None = None,
) -> Response:
    """After a write: 303 to `url` (POST/redirect/GET), with a message for the next page.

    An htmx request gets `HX-Redirect` instead, so the browser loads the whole page.
    """
    if is_htmx(request):
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    session = session or current_session(request)
    if session is not None and (flash or session is not current_session(request)):
        write_session(request, response, session.with_flash(flash, kind))
    return response
