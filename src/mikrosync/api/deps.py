"""FastAPI dependencies declared once (the FastAPI template's `deps.py` pattern)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from mikrosync.http.deps import RuntimeDep as RuntimeDep
from mikrosync.http.deps import SessionDep as SessionDep
from mikrosync.http.deps import role_at_least
from mikrosync.security.tokens import read_token
from mikrosync.security.vault import Vault
from mikrosync.tenants.access import Principal
from mikrosync.tenants.models import Role
from mikrosync.tenants.service import load_principal

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


async def get_vault(runtime: RuntimeDep) -> Vault:
    return runtime.vault


VaultDep = Annotated[Vault, Depends(get_vault)]

_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="not authenticated: the token is missing, invalid or expired",
    headers={"WWW-Authenticate": "Bearer"},
)


async def get_principal(
    request: Request,
    token: Annotated[str, Depends(oauth2_scheme)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> Principal:
    claims = read_token(token, secret_key=runtime.secret_key)
    if claims is None:
        raise _UNAUTHORIZED
    principal = await load_principal(session, user_id=claims.user_id)
    if principal is None:
        raise _UNAUTHORIZED
    request.state.api_principal = principal  # for the audit log (api/audit.py)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


Reader = Annotated[Principal, role_at_least(Role.VIEWER, get_principal)]
Operator = Annotated[Principal, role_at_least(Role.OPERATOR, get_principal)]
Admin = Annotated[Principal, role_at_least(Role.ADMIN, get_principal)]
Owner = Annotated[Principal, role_at_least(Role.OWNER, get_principal)]


async def get_platform_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_platform_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a platform admin may do this")
    return principal


PlatformAdmin = Annotated[Principal, Depends(get_platform_admin)]
