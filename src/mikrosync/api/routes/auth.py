"""Tokens (OAuth2 password flow) and the caller's own identity."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from mikrosync.api.deps import PrincipalDep, RuntimeDep, SessionDep
from mikrosync.api.responses import errors
from mikrosync.http.client import client_address
from mikrosync.http.fields import refuse_nul
from mikrosync.security.tokens import issue_token
from mikrosync.tenants.access import Principal
from mikrosync.tenants.schemas import Token
from mikrosync.tenants.service import authenticate

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", operation_id="createToken", responses=errors(401, 429))
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Token:
    """Exchange an email (`username`) and password for a bearer token. Repeated failures for
    one email or from one address are refused for a while (429 with Retry-After)."""
    refuse_nul("username", form.username)
    refuse_nul("password", form.password)
    throttle = runtime.login_throttle
    address = client_address(request)
    wait = await throttle.retry_after(form.username, address)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    user = await authenticate(session, email=form.username, password=form.password)
    if user is None:
        await throttle.failed(form.username, address)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await throttle.succeeded(form.username)
    ttl = timedelta(minutes=runtime.settings.token_ttl_minutes)
    token = issue_token(secret_key=runtime.secret_key, user_id=user.id, ttl=ttl)
    return Token(access_token=token, expires_in=int(ttl.total_seconds()))


@router.get("/me", operation_id="getMe", responses=errors(401))
async def read_me(principal: PrincipalDep) -> Principal:
    """Who the token belongs to."""
    return principal
