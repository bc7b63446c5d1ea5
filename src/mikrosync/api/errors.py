"""One table mapping domain errors to HTTP answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mikrosync.errors import ConfigError, Conflict, Forbidden, InvalidInput, NotFound

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


def install_error_handlers(app: FastAPI) -> None:
    for kind in _STATUS:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(ConfigError, _config_error)
