"""`audited`: the console's way to write an audit entry for what the current user just did,
with the address the request came from."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.audit import log
from mikrosync.http.client import client_address
from mikrosync.web.deps import WebUser


async def audited(
    request: Request,
    db: AsyncSession,
    user: WebUser,
    action: str,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    await log.record(
        db,
        tenant_id=user.tenant_id,
        actor=user.email,
        action=action,
        target=target,
        detail=detail,
        ip=client_address(request),
    )
