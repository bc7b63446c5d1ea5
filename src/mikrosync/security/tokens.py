"""Signed, expiring bearer tokens (JWT, HS256) for the REST API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import jwt

from mikrosync.clock import now

_ALGORITHM = "HS256"
_SIGNING_CONTEXT = b"mikrosync/tokens/v1"


def _signing_key(secret_key: str) -> bytes:
    # A key separate from the vault's, so a leaked token key never decrypts stored secrets.
    return hashlib.sha256(_SIGNING_CONTEXT + secret_key.encode("utf-8")).digest()


@dataclass(frozen=True)
class TokenClaims:
    user_id: int


def issue_token(*, secret_key: str, user_id: int, ttl: timedelta) -> str:
    issued = now()
    payload = {"sub": str(user_id), "iat": issued, "exp": issued + ttl}
    return jwt.encode(payload, _signing_key(secret_key), algorithm=_ALGORITHM)


def read_token(token: str, *, secret_key: str) -> TokenClaims | None:
    """The token's claims, or None when it is forged, malformed or expired."""
    try:
        payload = jwt.decode(token, _signing_key(secret_key), algorithms=[_ALGORITHM])
        return TokenClaims(user_id=int(payload["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
