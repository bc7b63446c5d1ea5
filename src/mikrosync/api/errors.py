"""One table mapping domain errors to HTTP answers; and 503 while the database is away."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from mikrosync.db.session import database_unavailable
from mikrosync.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    StateConflict,
    UnknownReference,
)

log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = "database unavailable; retry shortly"
RETRY_AFTER_S = 5

_STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403}


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    code = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
    return JSONResponse({"detail": str(exc)}, status_code=code)


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    if isinstance(exc, UnknownReference | StateConflict):
        status = 404 if isinstance(exc, UnknownReference) else 409
        return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=status)
    # The same shape as FastAPI's own 422s, so clients read one format.
    detail = [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


async def _config_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=500)


def unavailable_reason(exc: BaseException) -> str:
    """Why, for the log: the driver's words, never the statement or its parameters."""
    orig = getattr(exc, "orig", None)
    cause = orig if orig is not None else exc
    return f"{type(cause).__name__}: {str(cause).splitlines()[0][:200] if str(cause) else ''}"


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database that is down, restarting or out of free connections: 503 and Retry-After,
    so clients (and load balancers) retry instead of reading a 500 as a bug. Any other
    database error is one: it goes on to the 500 handler."""
    if not database_unavailable(exc):
        raise exc
    log.warning(
        "database unavailable; %s %s answered 503 (%s)",
        request.method,
        request.url.path,
        unavailable_reason(exc),
    )
    return JSONResponse(
        {"detail": DATABASE_UNAVAILABLE},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _route_table(app: Any) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path regex, methods) of every route, included routers' too, built once per app."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "allow_table", None
    )
    if table is None:
        table = [
            (compile_path(route.path)[0], frozenset(route.methods))
            for route in iter_route_contexts(app.router.routes)
            if route.path and route.methods
        ]
        app.state.allow_table = table
    return table


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this request's path (Starlette's own 405
    names only the methods of the first route whose path matched)."""
    root_path: str = request.scope.get("root_path", "")
    path: str = request.scope["path"].removeprefix(root_path) or "/"
    methods: set[str] = set()
    for regex, route_methods in _route_table(request.app):
        if regex.match(path):
            methods |= route_methods
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        exc = StarletteHTTPException(
            405, exc.detail, headers={**(exc.headers or {}), "Allow": allow}
        )
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in _STATUS:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(ConfigError, _config_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _database_error)
