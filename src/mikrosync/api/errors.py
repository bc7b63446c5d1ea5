"""One table mapping domain errors to HTTP answers; and 503 while the database is away."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from mikrosync.db.session import database_unavailable
from mikrosync.errors import ConfigError, Conflict, Forbidden, InvalidInput, NotFound

log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = "database unavailable; retry shortly"
RETRY_AFTER_S = 5

_STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403}


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    code = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
    return JSONResponse({"detail": str(exc)}, status_code=code)


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
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


def install_error_handlers(app: FastAPI) -> None:
    for kind in _STATUS:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(ConfigError, _config_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _database_error)
