"""Tokens (OAuth2 password flow) and the caller's own identity."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from mikrosync.api.deps import PrincipalDep, RuntimeDep, SessionDep
from mikrosync.security.tokens import issue_token
from mikrosync.tenants.access import Principal
from mikrosync.tenants.service import authenticate

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token")
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, str | int]:
    """Exchange an email (`username`) and password for a bearer token."""
    user = await authenticate(session, email=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ttl = timedelta(minutes=runtime.settings.token_ttl_minutes)
    token = issue_token(secret_key=runtime.secret_key, user_id=user.id, ttl=ttl)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(ttl.total_seconds()),
    }


@router.get("/me")
async def read_me(principal: PrincipalDep) -> Principal:
    """Who the token belongs to."""
    return principal
