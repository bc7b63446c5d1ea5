"""The session cookie behind TLS, security headers on every page, and the per-address login
throttle (the per-email one is in tests/api/test_login_throttle.py and tests/web/test_auth.py).

The app marks the cookie `Secure` (and sends HSTS) when the client used https. Behind a
reverse proxy that terminates TLS, that comes from `X-Forwarded-Proto`, believed only from the
proxies listed in `MIKROSYNC_TRUSTED_PROXIES` (none by default; `mikrosync serve` turns
uvicorn's own trust of 127.0.0.1 off): so the checks run against real `mikrosync serve`
processes, one behind a trusted proxy on 127.0.0.1 and one with the default.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from mikrosync.audit.models import AuditEntry
from mikrosync.runtime import Runtime
from mikrosync.security.throttle import MAX_FAILURES_PER_ADDRESS
from mikrosync.settings import Settings
from mikrosync.web.login_cookie import COOKIE_NAME
from mikrosync.web.routing import WebRoute
from tests.plugins.core import PASSWORD, TenantFactory
from tests.plugins.web import ServerProcess, WebTenant, csrf_from


def _serve(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, trusted: str | None
) -> Iterator[ServerProcess]:
    extra = {"MIKROSYNC_TRUSTED_PROXIES": trusted} if trusted is not None else {}
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    started = ServerProcess(settings, log_path, extra_env=extra)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture
def serve(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`mikrosync serve` behind a TLS-terminating proxy on 127.0.0.1 (the test client)."""
    yield from _serve(settings, tmp_path_factory, "127.0.0.1")


@pytest.fixture
def serve_default(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """`mikrosync serve` with no trusted proxy (the default)."""
    yield from _serve(settings, tmp_path_factory, None)


def _login(http: httpx.Client, email: str, headers: dict[str, str]) -> httpx.Response:
    """The login form, sending the form's cookie back by hand: a `Secure` cookie is one the
    client keeps for https only, and this test talks plain HTTP to the server (as the proxy
    does)."""
    page = http.get("/login", headers=headers)
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    http.cookies.clear()
    return http.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        headers=headers | {"Cookie": cookie},
    )


@pytest.mark.slow
async def test_cookie_is_secure_behind_a_tls_proxy(
    serve: ServerProcess, factory: TenantFactory, runtime: Runtime
) -> None:
    staff = await factory.staff(await factory.tenant())
    behind_tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    with httpx.Client(base_url=serve.url) as http:
        answer = _login(http, staff.email, behind_tls)
        assert answer.status_code == 303, answer.text
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert answer.headers["location"].startswith(("/", "https://"))
    with httpx.Client(base_url=serve.url) as http:
        plain = _login(http, staff.email, {})
        assert plain.status_code == 303
        assert "Secure" not in plain.headers["set-cookie"]
        assert "Strict-Transport-Security" not in plain.headers
    # The audit log names the client the proxy forwarded, then the proxy itself (no header).
    assert await _login_addresses(runtime, staff.tenant_id) == ["203.0.113.7", "127.0.0.1"]


async def _login_addresses(runtime: Runtime, tenant_id: int | None) -> list[str | None]:
    async with runtime.sessionmaker() as session:
        query = select(AuditEntry.ip).where(
            AuditEntry.tenant_id == tenant_id, AuditEntry.action == "staff.login"
        )
        return list((await session.scalars(query.order_by(AuditEntry.id))).all())


@pytest.mark.slow
async def test_without_trusted_proxies_the_server_ignores_forwarding_headers(
    serve_default: ServerProcess, factory: TenantFactory, runtime: Runtime
) -> None:
    """The default: uvicorn's own trust of 127.0.0.1 is off, so a local client claiming https
    or another address is neither (the audit log records the real peer)."""
    staff = await factory.staff(await factory.tenant())
    claims = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.8"}
    with httpx.Client(base_url=serve_default.url) as http:
        answer = _login(http, staff.email, claims)
        assert answer.status_code == 303, answer.text
        assert "Secure" not in answer.headers["set-cookie"]
        assert "Strict-Transport-Security" not in answer.headers
    assert await _login_addresses(runtime, staff.tenant_id) == ["127.0.0.1"]


async def test_forwarded_proto_is_not_trusted_by_the_app_itself(
    app: FastAPI,
    web: WebTenant,
) -> None:
    """Only the server's trusted-proxy setting turns the header into https; the app alone (a
    client talking to it directly) cannot make a cookie Secure or plain by claiming it."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        headers = {"X-Forwarded-Proto": "https"}
        token = csrf_from((await http.get("/login", headers=headers)).text)
        answer = await http.post(
            "/login",
            data={"email": web.staff.email, "password": PASSWORD, "csrf_token": token},
            headers=headers,
        )
        assert answer.status_code == 303 and "Secure" not in answer.headers["set-cookie"]
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as tls:
        token = csrf_from((await tls.get("/login")).text)
        answer = await tls.post(
            "/login", data={"email": web.staff.email, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 303
        assert "Secure" in answer.headers["set-cookie"]


async def test_security_headers_on_every_console_page_and_error(
    app: FastAPI,
    web: WebTenant,
) -> None:
    paths = [
        route.path or ""
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, WebRoute)
        and "GET" in (route.methods or ())
        and "{" not in (route.path or "")
    ]
    paths += ["/subscribers/999999999", "/no-such-page", "/static/mikrosync.css"]
    assert len(paths) >= 8
    for path in paths:
        response = await web.owner.get(path)
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert "script-src 'self'" in headers["Content-Security-Policy"], path


@pytest.mark.slow  # fifty failed logins, each a password hash check
async def test_one_address_is_throttled_across_emails(
    app: FastAPI,
    web: WebTenant,
    factory: TenantFactory,
) -> None:
    """Password spraying: many emails, one address. After the address's limit even a right
    password from it waits; the same user from another address logs in."""
    staff = await factory.staff(web.staff.tenant_id)
    spray = httpx.ASGITransport(app=app, client=("192.0.2.77", 50000))
    async with httpx.AsyncClient(transport=spray, base_url="http://test") as http:
        for n in range(MAX_FAILURES_PER_ADDRESS):
            failed = await http.post(
                "/api/v1/auth/token",
                data={"username": f"guess-{n}@nowhere.test", "password": "guess"},
            )
            assert failed.status_code == 401, failed.text
        locked = await http.post(
            "/api/v1/auth/token", data={"username": staff.email, "password": PASSWORD}
        )
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        token = csrf_from((await http.get("/login")).text)
        form = await http.post(
            "/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": token}
        )
        assert form.status_code == 429
    other = httpx.ASGITransport(app=app, client=("192.0.2.78", 50000))
    async with httpx.AsyncClient(transport=other, base_url="http://test") as http:
        ok = await http.post(
            "/api/v1/auth/token", data={"username": staff.email, "password": PASSWORD}
        )
        assert ok.status_code == 200, ok.text
