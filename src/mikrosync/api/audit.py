"""The API's writes in the tenant's audit log (the console writes its own, with names).

A POST, PUT, PATCH or DELETE under /api/v1 that succeeded for a tenant's staff user is
recorded as `api.<method>` on its path, with the client's address. The user is the one
`get_principal` authenticated (it leaves the Principal on the request's state). Recording never
fails the request: a database error is logged and the answer stands.

A plain ASGI middleware that writes the entry once the app has finished with the request:
after the answer is sent and the request's own database session is closed. Written earlier
(inside the response, as a `BaseHTTPMiddleware` did), the entry waited on the request's
session: on SQLite a write that changed nothing (a `connect` of a connected subscriber) still
held the database's write lock until that session closed, after the response, so the audit
insert waited out the 15 s busy timeout and failed (found by schemathesis, issue 14). It also
no longer wraps every response body in a stream of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mikrosync.audit import log as audit_log
from mikrosync.http.client import client_address
from mikrosync.runtime import Runtime

log = logging.getLogger(__name__)
AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRINCIPAL_STATE = "api_principal"


class ApiAudit:
    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in AUDITED_METHODS
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def remember_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, remember_status)
        if status and status[0] < 400:
            await self._record(scope, status[0])

    async def _record(self, scope: Scope, status: int) -> None:
        principal: Any = scope.get("state", {}).get(PRINCIPAL_STATE)
        tenant_id = principal.tenant_id_or_none if principal is not None else None
        if principal is None or tenant_id is None:
            return
        runtime: Runtime = scope["app"].state.runtime
        try:
            async with runtime.sessionmaker() as session:
                await audit_log.record(
                    session,
                    tenant_id=tenant_id,
                    actor=principal.email,
                    action=f"api.{scope['method'].lower()}",
                    target=scope["path"],
                    detail=f"HTTP {status}",
                    ip=client_address(Request(scope)),
                )
        except SQLAlchemyError as exc:
            log.warning("audit entry of %s %s not written: %s", scope["method"], scope["path"], exc)


def install_api_audit(app: FastAPI, prefix: str) -> None:
    app.add_middleware(ApiAudit, prefix=prefix)
