"""The client's address behind a reverse proxy (issue 17: the audit log's "from where"): the
forwarding headers count only when the direct peer is a trusted proxy
(`MIKROSYNC_TRUSTED_PROXIES`), and then the client is the rightmost untrusted hop. The same
rule serves the console's and the API's audit entries, login throttling, the M-Pesa
allow-list and the login cookie's Secure flag. The app runs in-process over ASGI with a chosen
peer address, on both databases, against real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select

from mikrosync.app import create_app
from mikrosync.audit.models import AuditEntry
from mikrosync.http.client import resolve
from mikrosync.runtime import Runtime
from mikrosync.security.throttle import MAX_FAILURES_PER_ADDRESS
from mikrosync.settings import Settings
from tests.helpers import unique
from tests.plugins.core import PASSWORD, Staff, TenantFactory
from tests.plugins.web import csrf_from

PROXIES = "10.0.0.0/8, 2001:db8::1"
PROXY = "10.1.2.3"
OUTSIDER = "203.0.113.50"


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        # No trusted proxy: the headers mean nothing.
        ("10.1.2.3", ["198.51.100.7"], "", "10.1.2.3"),
        # A trusted peer: the hop it appended.
        ("10.1.2.3", ["198.51.100.7"], PROXIES, "198.51.100.7"),
        # The client prepended a lie; the proxy appended the truth: the rightmost untrusted hop.
        ("10.1.2.3", ["1.1.1.1, 198.51.100.7"], PROXIES, "198.51.100.7"),
        # Two proxies (10.0.0.9 forwarded to 10.1.2.3): both skipped.
        ("10.1.2.3", ["198.51.100.7, 10.0.0.9"], PROXIES, "198.51.100.7"),
        # Several header lines are one list.
        ("10.1.2.3", ["1.1.1.1", "198.51.100.7"], PROXIES, "198.51.100.7"),
        # An untrusted peer spoofing the header: the peer.
        (OUTSIDER, ["198.51.100.7"], PROXIES, OUTSIDER),
        # Garbage where an address should be: the last hop a trusted proxy vouched for.
        ("10.1.2.3", ["<script>, 10.0.0.9"], PROXIES, "10.0.0.9"),
        # A trusted peer without the header, and an all-trusted chain.
        ("10.1.2.3", [], PROXIES, "10.1.2.3"),
        ("10.1.2.3", ["10.9.9.9"], PROXIES, "10.9.9.9"),
        # IPv6 proxy, IPv4-mapped and bracketed hops.
        ("2001:db8::1", ["[2001:db8::42]"], PROXIES, "2001:db8::42"),
        ("::ffff:10.1.2.3", ["::ffff:198.51.100.7"], PROXIES, "198.51.100.7"),
        (None, ["198.51.100.7"], PROXIES, None),
    ],
)
def test_the_rightmost_untrusted_hop_is_the_client(
    peer: str | None, forwarded: list[str], proxies: str, expected: str | None
) -> None:
    assert resolve(peer, forwarded, proxies) == expected


def test_the_setting_is_checked_and_normalised() -> None:
    assert Settings(trusted_proxies=" 10.0.0.1/8 ,127.0.0.1").trusted_proxies == (
        "10.0.0.0/8, 127.0.0.1/32"
    )
    with pytest.raises(ValidationError, match="'nginx' is not an IP address or network"):
        Settings(trusted_proxies="127.0.0.1, nginx")


@pytest.fixture(scope="module")
async def proxied_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app of the session's database and Redis, behind trusted proxies."""
    app = create_app(settings.model_copy(update={"trusted_proxies": PROXIES}))
    yield app
    await app.state.runtime.close()


Peer = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def from_peer(proxied_app: FastAPI) -> AsyncIterator[Peer]:
    """`from_peer("10.1.2.3")`: a client whose TCP peer address is that one."""
    opened: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=proxied_app, client=(address, 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


async def _entries(runtime: Runtime, tenant_id: int | None, action: str) -> list[AuditEntry]:
    async with runtime.sessionmaker() as session:
        query = select(AuditEntry).where(
            AuditEntry.tenant_id == tenant_id, AuditEntry.action == action
        )
        return list((await session.scalars(query.order_by(AuditEntry.id))).all())


async def _failed_console_login(
    http: httpx.AsyncClient, email: str, forwarded: str
) -> httpx.Response:
    token = csrf_from((await http.get("/login")).text)
    return await http.post(
        "/login",
        data={"email": email, "password": "wrong-password", "csrf_token": token},
        headers={"X-Forwarded-For": forwarded},
    )


async def test_console_login_audit_believes_only_a_trusted_proxy(
    from_peer: Peer, factory: TenantFactory, runtime: Runtime
) -> None:
    staff = await factory.staff(await factory.tenant())
    refused = await _failed_console_login(from_peer(PROXY), staff.email, "1.1.1.1, 198.51.100.7")
    assert refused.status_code == 400 and "wrong email or password" in refused.text
    spoofed = await _failed_console_login(from_peer(OUTSIDER), staff.email, "198.51.100.8")
    assert spoofed.status_code == refused.status_code
    entries = await _entries(runtime, staff.tenant_id, "staff.login_failed")
    assert [e.ip for e in entries] == ["198.51.100.7", OUTSIDER]


@pytest.mark.slow  # some 100 refused logins, each a password hash
async def test_login_throttling_counts_the_real_client_not_the_proxy(
    from_peer: Peer, factory: TenantFactory
) -> None:
    """Failures from many clients behind one proxy do not lock out the proxy's other
    clients; a spoofed header from an untrusted peer does not dodge its own lockout."""
    staff = await factory.staff(await factory.tenant())
    proxy = from_peer(PROXY)
    # One client behind the proxy fails until throttled (per address).
    throttled = None
    for attempt in range(MAX_FAILURES_PER_ADDRESS + 1):
        answer = await proxy.post(
            "/api/v1/auth/token",
            data={"username": unique("nobody") + "@isp.test", "password": "x"},
            headers={"X-Forwarded-For": "198.51.100.66"},
        )
        if answer.status_code == 429:
            throttled = attempt
            break
        assert answer.status_code == 401, answer.text
    assert throttled is not None, "the address was never throttled"
    # Another client behind the same proxy still logs in.
    other = await proxy.post(
        "/api/v1/auth/token",
        data={"username": staff.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.67"},
    )
    assert other.status_code == 200, other.text

    # An untrusted peer throttled by its own failures cannot escape by forging the header.
    outsider = from_peer("203.0.113.66")
    for _ in range(throttled + 1):
        await outsider.post(
            "/api/v1/auth/token",
            data={"username": unique("nobody") + "@isp.test", "password": "x"},
        )
    forged = await outsider.post(
        "/api/v1/auth/token",
        data={"username": staff.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.68"},
    )
    assert forged.status_code == 429, forged.text


async def test_api_audit_entries_name_the_client_behind_the_proxy(
    from_peer: Peer, factory: TenantFactory, runtime: Runtime
) -> None:
    staff = await factory.staff(await factory.tenant())
    body = {"name": unique("pkg"), "service": "pppoe", "rate_limit": "10M/5M"}
    for peer, forwarded in ((PROXY, "198.51.100.9"), (OUTSIDER, "198.51.100.10")):
        created = await from_peer(peer).post(
            "/api/v1/packages",
            json=body | {"name": unique("pkg")},
            headers=staff.headers | {"X-Forwarded-For": forwarded},
        )
        assert created.status_code == 201, created.text
    entries = await _entries(runtime, staff.tenant_id, "api.post")
    assert [e.ip for e in entries] == ["198.51.100.9", OUTSIDER]


async def _mpesa_account(http: httpx.AsyncClient, staff: Staff) -> dict[str, str]:
    saved = await http.put(
        "/api/v1/mpesa/account",
        json={
            "shortcode": "600123",
            "api_url": "http://127.0.0.1:9",
            "callback_base_url": "https://billing.example.test",
            "consumer_key": "proxy-key",
            "consumer_secret": "proxy-secret",
            "allowed_sources": ["198.51.100.0/24"],
        },
        headers=staff.headers,
    )
    assert saved.status_code == 200, saved.text
    urls: dict[str, str] = saved.json()["callback_urls"]
    return urls


async def test_mpesa_allow_list_uses_the_same_rule(from_peer: Peer, factory: TenantFactory) -> None:
    staff = await factory.staff(await factory.tenant())
    urls = await _mpesa_account(from_peer(PROXY), staff)
    path = urls["validation"].removeprefix("https://billing.example.test")
    body = {"TransID": unique("T"), "TransAmount": "10", "BillRefNumber": "x", "MSISDN": "2547"}

    # Daraja's address, forwarded by our proxy: inside the allow-list.
    through_proxy = await from_peer(PROXY).post(
        path, json=body, headers={"X-Forwarded-For": "198.51.100.20"}
    )
    assert through_proxy.status_code == 200, through_proxy.text
    assert through_proxy.json()["ResultCode"] == 0
    # The same header from a peer that is not a proxy: refused, the header is not believed.
    spoofed = await from_peer(OUTSIDER).post(
        path, json=body, headers={"X-Forwarded-For": "198.51.100.20"}
    )
    assert spoofed.status_code == 403, spoofed.text
    assert "source not allowed" in spoofed.text
    # Our proxy forwarding someone outside the allow-list: refused too.
    outside = await from_peer(PROXY).post(
        path, json=body, headers={"X-Forwarded-For": "198.51.100.20, 192.0.2.99"}
    )
    assert outside.status_code == 403, outside.text


async def test_the_login_cookie_is_secure_when_a_trusted_proxy_says_https(
    from_peer: Peer, factory: TenantFactory
) -> None:
    staff = await factory.staff(await factory.tenant())
    for peer, secure in ((PROXY, True), (OUTSIDER, False)):
        http = from_peer(peer)
        token = csrf_from((await http.get("/login")).text)
        response = await http.post(
            "/login",
            data={"email": staff.email, "password": PASSWORD, "csrf_token": token},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.30"},
        )
        assert response.status_code == 303, response.text
        cookie = response.headers["set-cookie"]
        assert ("secure" in cookie.lower()) is secure, cookie
        hsts = "strict-transport-security" in response.headers
        assert hsts is secure
