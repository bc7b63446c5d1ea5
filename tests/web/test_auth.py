"""Login, logout, the session cookie and CSRF, over ASGI on both databases."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from mikrosync.security.throttle import MAX_FAILURES_PER_EMAIL
from mikrosync.tenants.models import Role
from mikrosync.web.login_cookie import COOKIE_NAME
from tests.helpers import make_subscriber
from tests.plugins.core import PASSWORD, TenantFactory
from tests.plugins.web import WebLogin, WebTenant, csrf_from


def _anonymous(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client without session. Tests that fail logins on purpose pass an address of their
    own: the login throttle also counts failures per address."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_pages_need_a_login_and_come_back_after_it(app: FastAPI, web: WebTenant) -> None:
    owner = web.staff
    async with _anonymous(app) as http:
        response = await http.get("/subscribers?sync_status=error")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/subscribers%3Fsync_status%3Derror"
        login_page = await http.get(response.headers["location"])
        assert 'name="next" value="/subscribers?sync_status=error"' in login_page.text
        answer = await http.post(
            "/login",
            data={
                "email": owner.email,
                "password": PASSWORD,
                "next": "/subscribers?sync_status=error",
                "csrf_token": csrf_from(login_page.text),
            },
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/subscribers?sync_status=error"
        assert (await http.get("/subscribers")).status_code == 200


async def test_session_cookie_is_signed_httponly_and_lax(app: FastAPI, web: WebTenant) -> None:
    owner = web.staff
    async with _anonymous(app) as http:
        page = await http.get("/login")
        response = await http.post(
            "/login",
            data={"email": owner.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here; set over HTTPS
        payload, signature = http.cookies[COOKIE_NAME].split(".")
        http.cookies.clear()
        http.cookies.set(COOKIE_NAME, f"{payload}.{signature[::-1]}")
        assert (await http.get("/")).status_code == 303  # a forged signature is no session


async def test_wrong_password_and_platform_admin_are_refused(
    app: FastAPI, web: WebTenant, factory: TenantFactory
) -> None:
    owner = web.staff
    admin = await factory.staff(None)
    async with _anonymous(app, "192.0.2.10") as http:
        token = csrf_from((await http.get("/login")).text)
        response = await http.post(
            "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 400 and "platform admins" in response.text
        token = csrf_from((await http.get("/login")).text)
        response = await http.post(
            "/login", data={"email": owner.email, "password": "nope", "csrf_token": token}
        )
        assert response.status_code == 400
        assert "wrong email or password" in response.text
        assert f'value="{owner.email}"' in response.text  # what was typed is kept
        assert "nope" not in response.text  # but never the password


async def test_login_without_csrf_token_is_refused(app: FastAPI, web: WebTenant) -> None:
    owner = web.staff
    async with _anonymous(app) as http:
        await http.get("/login")
        response = await http.post("/login", data={"email": owner.email, "password": PASSWORD})
        assert response.status_code == 403
        assert COOKIE_NAME not in response.headers.get("set-cookie", "")


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(
    web: WebTenant,
) -> None:
    web_owner, owner, client = web.owner, web.staff, web.api
    created = await make_subscriber(client, owner)
    url = f"/subscribers/{created['id']}/suspend"
    assert (await web_owner.post(url, csrf=False)).status_code == 403
    assert (await web_owner.post(url, {"csrf_token": "forged"})).status_code == 403
    refused = await web_owner.post("/logout", csrf=False)
    assert refused.status_code == 403 and "security token" in refused.text
    row = (await client.get(f"/api/v1/subscribers/{created['id']}", headers=owner.headers)).json()
    assert row["is_suspended"] is False
    # The token as the HTMX header (base.html sets hx-headers) is accepted.
    accepted = await web_owner.http.post(url, headers={"X-CSRF-Token": web_owner.csrf})
    assert accepted.status_code == 303


async def test_logout_ends_the_session(web: WebTenant, web_login: WebLogin) -> None:
    web_owner = await web_login(web.staff)
    response = await web_owner.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await web_owner.get("/")).status_code == 303
    page = await web_owner.get("/login")
    assert "You are logged out." in page.text
    # The old token died with the session.
    assert (await web_owner.post("/subscribers/retry")).status_code == 403


async def test_an_htmx_poll_without_session_is_sent_to_the_login_page(app: FastAPI) -> None:
    async with _anonymous(app) as http:
        response = await http.get(
            "/subscribers/badges?ids=1",
            headers={"HX-Request": "true", "HX-Current-URL": "http://test/subscribers?q=a"},
        )
        assert response.status_code == 200
        assert response.headers["HX-Redirect"] == "/login?next=/subscribers%3Fq%3Da"


async def test_next_never_leaves_the_site(app: FastAPI, web: WebTenant) -> None:
    owner = web.staff
    async with _anonymous(app) as http:
        for target in ("https://evil.test/x", "//evil.test", "/\\evil.test"):
            token = csrf_from((await http.get("/login")).text)
            response = await http.post(
                "/login",
                data={
                    "email": owner.email,
                    "password": PASSWORD,
                    "next": target,
                    "csrf_token": token,
                },
            )
            assert response.headers["location"] in {"/", "/x"}
            await http.post(
                "/logout", headers={"X-CSRF-Token": csrf_from((await http.get("/")).text)}
            )


async def test_repeated_failures_lock_the_form_like_the_api(
    app: FastAPI, factory: TenantFactory, web: WebTenant
) -> None:
    staff = await factory.staff(web.staff.tenant_id, Role.VIEWER)
    async with _anonymous(app, "192.0.2.11") as http:
        token = csrf_from((await http.get("/login")).text)
        for _ in range(MAX_FAILURES_PER_EMAIL):
            failed = await http.post(
                "/login", data={"email": staff.email, "password": "guess", "csrf_token": token}
            )
            assert failed.status_code == 400
        locked = await http.post(
            "/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": token}
        )
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        assert "too many failed logins" in locked.text
        # The API shares the count: no way around it there either.
        api = await web.api.post(
            "/api/v1/auth/token", data={"username": staff.email, "password": PASSWORD}
        )
        assert api.status_code == 429
