"""422 answers without the values that were sent.

FastAPI's own validation errors echo each failing value back as `input`; for a missing or
malformed field of a JSON body that value is the whole body, password included. Every error
keeps its `loc`, `msg`, `type` and `ctx` (the same shape as before; `input` is optional in the
OpenAPI schema), so a client still learns what is wrong and where, but no password sent in a
refused request ever comes back in the answer.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def _without_input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: value for key, value in error.items() if key != "input"} for error in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def install_validation_errors(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _without_input)
