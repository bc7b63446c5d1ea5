"""`WebRoute`: the route class of every web view. It turns errors into HTML answers, where the
REST API answers JSON (`api/errors.py`): no session -> the login page; a role too weak, a bad
CSRF token -> 403; another tenant's or a missing id -> 404 (never say which, DESIGN §3)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.routing import APIRoute, APIRouter
from sqlalchemy import exc as sa_exc

from mikrosync.db.session import database_unavailable
from mikrosync.errors import Conflict, Forbidden, InvalidInput, NotFound
from mikrosync.web.errors import CsrfRejected, LoginRequired
from mikrosync.web.htmx import is_htmx
from mikrosync.web.responses import redirect, render

_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (CsrfRejected, 403, "Refused"),
    (Forbidden, 403, "Not allowed"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (InvalidInput, 422, "Invalid input"),
)
_HANDLED = tuple(kind for kind, _code, _title in _STATUS)


def login_redirect(request: Request) -> Response:
    if is_htmx(request):
        # A poll from a page whose session ran out: load the login page, come back after.
        target = request.headers.get("HX-Current-URL", "/")
        return Response(headers={"HX-Redirect": f"/login?next={quote(local_path(target))}"})
    return redirect(request, f"/login?next={quote(local_path(str(request.url)))}")


def local_path(url: str) -> str:
    """The path and query of a URL of this site, so no redirect ever leaves it."""
    path = url.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


# htmx's "stop polling" status: a poll of something gone shows why, once, and stops.
HTMX_STOP_POLLING = 286


def error_page(request: Request, exc: Exception) -> Response:
    code, title = next((c, t) for kind, c, t in _STATUS if isinstance(exc, kind))
    context = {"title": title, "message": str(exc), "code": code}
    if is_htmx(request):
        return render(request, "_error.html", context, status_code=HTMX_STOP_POLLING)
    return render(request, "error.html", context, status_code=code)


DATABASE_UNAVAILABLE = (
    "The database is not answering (it may be restarting); try again in a few seconds."
)


def unavailable_page(request: Request) -> Response:
    """503 while the database is away: a page that says so, not a stack trace or a 500."""
    context = {"title": "Database unavailable", "message": DATABASE_UNAVAILABLE, "code": 503}
    name = "_error.html" if is_htmx(request) else "error.html"
    response = render(request, name, context, status_code=503)
    response.headers["Retry-After"] = "5"
    return response


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except _HANDLED as exc:
                return error_page(request, exc)
            except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
                if not database_unavailable(exc):
                    raise
                return unavailable_page(request)

        return handle


def web_router(prefix: str = "") -> APIRouter:
    """A router of web views: HTML errors, and no entry in the API's OpenAPI document."""
    return APIRouter(prefix=prefix, route_class=WebRoute, include_in_schema=False)
