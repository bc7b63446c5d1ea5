"""The error answers of the API, documented once for the OpenAPI (`responses=` of the routers).

Every error but 422 has the body `{"detail": "<what went wrong>"}` (`api/errors.py` for the
domain errors, FastAPI's HTTPException for the rest); 422 is FastAPI's own list of
`{loc, msg, type}`, which FastAPI documents by itself wherever a request has parameters.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class ErrorBody(BaseModel):
    """An error answer: what went wrong, in words meant for a person."""

    detail: str
    field: str | None = None
    """The request field at fault, when one is (an unknown id, a value the data refuses)."""


_WHY = {
    401: "Not authenticated: the token is missing, invalid or expired (or, for the token "
    "endpoint, the email or password is wrong)",
    403: "The caller's role does not allow this",
    404: "No such object in the caller's tenant",
    409: "Clashes with existing data (a duplicate name, an object in use, a state that does "
    "not allow it)",
    413: "The request body is too large",
    429: "Too many failed logins; the Retry-After header says how long to wait",
    502: "M-Pesa (Daraja) refused the request or did not answer; the detail says which",
    503: "A dependency (the database, or the router) did not answer; the detail says what was done",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of these status codes, each with the ErrorBody schema."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


AUTHENTICATED = errors(401, 403)
"""Any route behind a token: no valid token (401), a role too weak (403)."""
OBJECTS = errors(401, 403, 404, 409)
"""Routes on a tenant's objects: also not found (404) and conflicts (409)."""
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def document_unparsable_bodies(app: FastAPI) -> None:
    """Add 400 to every operation that takes a body: FastAPI answers it by itself (same
    ErrorBody) to a body it cannot parse at all (JSON that is not UTF-8, a broken multipart),
    before any route runs, so no `responses=` of a router can say it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema["paths"].values():
            for operation in operations.values():
                if "requestBody" in operation:
                    operation["responses"].setdefault(
                        "400",
                        {
                            "description": "The body could not be parsed at all",
                            "content": {"application/json": {"schema": _ERROR_REF}},
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
