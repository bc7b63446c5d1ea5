"""The web console's login: a signed cookie holding who is logged in, the CSRF token and a
one-shot flash message.

The cookie is signed (HMAC-SHA256), not encrypted: it carries nothing secret. Its key is derived
from the secret key under its own context, like `security/tokens.py` does for API tokens, so a
leaked login-cookie key neither forges API tokens nor decrypts stored passwords. Read by
`web/deps.py` on every request; written only by `web/responses.py`. Never put a password or
any router detail in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

COOKIE_NAME = "mikrosync_session"
_SIGNING_CONTEXT = b"mikrosync/web-session/v1"
# An anonymous login (no user yet: the login form's CSRF token) lasts this long.
ANONYMOUS_TTL_S = 3600


def signing_key(secret_key: str) -> bytes:
    return hashlib.sha256(_SIGNING_CONTEXT + secret_key.encode("utf-8")).digest()


@dataclass(frozen=True)
class WebLogin:
    csrf: str
    issued: int
    user_id: int | None = None
    flash: str | None = None
    flash_kind: str = "info"

    @classmethod
    def new(cls, user_id: int | None = None) -> WebLogin:
        """A fresh login with a new CSRF token (on login the token is rotated)."""
        return cls(csrf=secrets.token_urlsafe(32), issued=int(time.time()), user_id=user_id)

    def with_flash(self, message: str | None, kind: str = "info") -> WebLogin:
        return replace(self, flash=message, flash_kind=kind)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def dump(login: WebLogin, key: bytes) -> str:
    body: dict[str, Any] = {"c": login.csrf, "i": login.issued}
    if login.user_id is not None:
        body["u"] = login.user_id
    if login.flash:
        body["f"], body["k"] = login.flash, login.flash_kind
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    signature = _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def load(value: str | None, key: bytes, *, max_age_s: int) -> WebLogin | None:
    """The login in a cookie value, or None when it is absent, forged, malformed or too old."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    expected = _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        body = json.loads(_unb64(payload))
        login = WebLogin(
            csrf=str(body["c"]),
            issued=int(body["i"]),
            user_id=int(body["u"]) if "u" in body else None,
            flash=body.get("f"),
            flash_kind=str(body.get("k", "info")),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    ttl = max_age_s if login.user_id is not None else ANONYMOUS_TTL_S
    if time.time() - login.issued > ttl:
        return None
    return login
