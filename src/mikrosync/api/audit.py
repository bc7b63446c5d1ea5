"""The API's writes in the tenant's audit log (the console writes its own, with names).

A middleware, after the response: a POST, PUT, PATCH or DELETE under /api/v1 that succeeded
for a tenant's staff user is recorded as `api.<method>` on its path, with the client's
address. The user is the one `get_principal` authenticated (it leaves the Principal on the
request). Recording never fails the request: a database error is logged and the answer
goes out as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from mikrosync.audit import log as audit_log
from mikrosync.http.client import client_address
from mikrosync.runtime import Runtime

log = logging.getLogger(__name__)
AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRINCIPAL_STATE = "api_principal"


def install_api_audit(app: FastAPI, prefix: str) -> None:
    @app.middleware("http")
    async def api_audit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if (
            request.method in AUDITED_METHODS
            and request.url.path.startswith(prefix)
            and response.status_code < 400
        ):
            principal = getattr(request.state, PRINCIPAL_STATE, None)
            tenant_id = principal.tenant_id_or_none if principal is not None else None
            if principal is not None and tenant_id is not None:
                runtime: Runtime = request.app.state.runtime
                try:
                    async with runtime.sessionmaker() as session:
                        await audit_log.record(
                            session,
                            tenant_id=tenant_id,
                            actor=principal.email,
                            action=f"api.{request.method.lower()}",
                            target=request.url.path,
                            detail=f"HTTP {response.status_code}",
                            ip=client_address(request),
                        )
                except SQLAlchemyError as exc:
                    log.warning(
                        "audit entry of %s %s not written: %s",
                        request.method,
                        request.url.path,
                        exc,
                    )
        return response
