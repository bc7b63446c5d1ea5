"""CSRF protection for every state-changing request of the web UI.

The token lives in the signed login cookie and comes back either as the hidden form field
`csrf_token` (plain forms) or as the `X-CSRF-Token` header (HTMX requests: `base.html` sets it
with `hx-headers`). The login cookie is also SameSite=Lax, but the token is what is relied
on. Runs as a dependency of the whole web router; safe methods pass untouched.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from mikrosync.web.errors import CsrfRejected
from mikrosync.web.login_cookie import WebLogin

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def submitted_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if "form" not in request.headers.get("content-type", ""):
        return None
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def check_csrf(request: Request, login: WebLogin | None) -> None:
    """Raise CsrfRejected unless a non-safe request carries the login's token."""
    if request.method in SAFE_METHODS:
        return
    token = await submitted_token(request)
    if login is None or not token or not hmac.compare_digest(token, login.csrf):
        raise CsrfRejected()
