"""The cross-tenant and role matrices, generated from the app's route table, so a new route is
covered the day it is added: every API endpoint and console route that takes an id answers 404
to another tenant's staff; a viewer may write nothing; an operator may write subscribers only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from mikrosync.simulator.testing import running_router
from mikrosync.web.routing import HTMX_STOP_POLLING, WebRoute
from tests.helpers import make_package, make_router, post_ok, unique
from tests.plugins.core import Staff
from tests.plugins.web import WebClient, WebTenant

API = "/api/v1"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
# Platform-admin routes: a tenant's staff is refused whatever the id (403), never served.
PLATFORM_ONLY = {f"{API}/tenants/{{tenant_id}}/users", f"{API}/tenants"}
# Payment providers' callbacks: no staff login, they prove themselves by a secret URL (M-Pesa)
# or an HMAC signature (tests/payments checks both); no tenant's staff is involved.
PROVIDER_CALLBACKS = {
    f"{API}/callbacks/daraja/{{token}}/{{kind}}",
    f"{API}/callbacks/webhook/{{webhook_id}}",
}
# Where anyone may post: the login form and its API twin, logout, and the providers' callbacks.
OPEN_WRITES = {f"{API}/auth/token", "/login", "/logout"} | PROVIDER_CALLBACKS
# What an operator may write besides reading: subscribers, payments (recording cash, an STK
# push, assigning an unmatched payment), and a router's connection test (README, "Roles";
# docs/web-ui.md, "Roles and tenancy"; docs/payments.md); vouchers (sold, as operators do) and
# ending one live session (docs/vouchers.md).
OPERATOR_PREFIXES = (
    f"{API}/subscribers",
    "/subscribers",
    "/routers/{router_id}/test",
    f"{API}/voucher-batches",
    f"{API}/vouchers",
    "/vouchers",
    f"{API}/routers/{{router_id}}/sessions",
    "/routers/{router_id}/sessions",
    f"{API}/payments",
    "/payments",
    "/import",  # subscribers from CSV
    "/jobs/clear",  # failed sync jobs
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    web: bool

    def url(self, ids: dict[str, int]) -> str:
        return self.template.format(**ids)


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    """Every (method, path) of the API and the console, from the route table."""
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if not isinstance(original, APIRoute):
            continue  # docs, static files
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                # path_format: the path as the schema writes it (`{id}`, not `{id:int}`)
                yield Endpoint(method, route.path_format or "", isinstance(original, WebRoute))


@dataclass
class Victim:
    ids: dict[str, int]
    owner: Staff


@pytest.fixture
async def victim(web: WebTenant) -> AsyncIterator[Victim]:
    """A router (a live simulator), package, subscriber and reconciliation run of `web`'s
    tenant."""
    owner = web.staff
    async with running_router(username="admin", password="router-pw") as sim:
        router = await make_router(web.api, owner, host=sim.host, port=sim.port)
        package = await make_package(web.api, owner)
        subscriber = await post_ok(
            web.api,
            owner,
            "/api/v1/subscribers",
            {
                "router_id": router["id"],
                "package_id": package["id"],
                "service": "pppoe",
                "username": unique("victim"),
                "password": "svc-pw",
            },
        )
        run = await web.api.post(
            f"/api/v1/routers/{router['id']}/reconcile?dry_run=true", headers=owner.headers
        )
        assert run.status_code == 200, run.text
        # A payment below the package's price: credited, nothing renewed or reconnected.
        payment = await post_ok(
            web.api, owner, "/api/v1/payments", {"subscriber_id": subscriber["id"], "amount": "1"}
        )
        webhook = await post_ok(
            web.api, owner, "/api/v1/payment-webhooks", {"provider": unique("hook")}
        )
        assert owner.tenant_id is not None
        batch = await post_ok(
            web.api,
            owner,
            "/api/v1/voucher-batches",
            {"router_id": router["id"], "profile_name": "default", "count": 2},
        )
        vouchers = await web.api.get(
            f"/api/v1/voucher-batches/{batch['id']}/vouchers", headers=owner.headers
        )
        staff_user = await post_ok(
            web.api,
            owner,
            "/api/v1/users",
            {"email": f"{unique('staff')}@isp.test", "password": "Staff-pass-1", "role": "viewer"},
        )
        yield Victim(
            ids={
                "router_id": router["id"],
                "package_id": package["id"],
                "subscriber_id": subscriber["id"],
                "run_id": run.json()["id"],
                "tenant_id": owner.tenant_id,
                "batch_id": batch["id"],
                "voucher_id": vouchers.json()[0]["id"],
                "payment_id": payment["payment"]["id"],
                "webhook_id": webhook["id"],
                "user_id": staff_user["id"],
            },
            owner=owner,
        )


def _by_id_first(items: list[Endpoint]) -> list[Endpoint]:
    """Deletes last, so every other request still finds what it asks about."""
    return sorted(items, key=lambda e: e.method == "DELETE" or e.template.endswith("/delete"))


async def _api_call(
    client: httpx.AsyncClient, staff: Staff, endpoint: Endpoint, ids: dict[str, int]
) -> httpx.Response:
    body = {} if endpoint.method in {"POST", "PATCH", "PUT"} else None
    return await client.request(
        endpoint.method, endpoint.url(ids), json=body, headers=staff.headers
    )


async def _still_there(web: WebTenant, victim: Victim) -> None:
    ids, headers = victim.ids, victim.owner.headers
    row = await web.api.get(f"{API}/subscribers/{ids['subscriber_id']}", headers=headers)
    assert row.status_code == 200 and row.json()["is_suspended"] is False, row.text
    assert row.json()["full_name"] is None
    for path in (f"/routers/{ids['router_id']}", f"/packages/{ids['package_id']}"):
        assert (await web.api.get(f"{API}{path}", headers=headers)).status_code == 200


async def test_every_api_endpoint_with_an_id_answers_404_to_another_tenant(
    app: FastAPI,
    web: WebTenant,
    victim: Victim,
) -> None:
    intruder = web.stranger.staff
    checked = 0
    for endpoint in _by_id_first(list(endpoints(app))):
        if endpoint.web or "{" not in endpoint.template or endpoint.template in PROVIDER_CALLBACKS:
            continue
        response = await _api_call(web.api, intruder, endpoint, victim.ids)
        expected = 403 if endpoint.template in PLATFORM_ONLY else 404
        assert response.status_code == expected, (endpoint, response.text)
        checked += 1
    assert checked >= 18
    await _still_there(web, victim)


async def test_every_console_route_with_an_id_answers_404_to_another_tenant(
    app: FastAPI,
    web: WebTenant,
    victim: Victim,
) -> None:
    stranger: WebClient = web.stranger
    checked = 0
    for endpoint in _by_id_first(list(endpoints(app))):
        if not endpoint.web or "{" not in endpoint.template:
            continue
        url = endpoint.url(victim.ids)
        if endpoint.method == "GET":
            page = await stranger.get(url)
            assert page.status_code == 404, (endpoint, page.status_code)
            poll = await stranger.get(url, headers={"HX-Request": "true"})
            assert poll.status_code == HTMX_STOP_POLLING, (endpoint, poll.status_code)
        else:
            response = await stranger.post(url)
            assert response.status_code == 404, (endpoint, response.status_code)
        checked += 1
    assert checked >= 15
    await _still_there(web, victim)


async def test_ids_in_queries_and_bodies_reveal_nothing_to_another_tenant(
    web: WebTenant,
    victim: Victim,
) -> None:
    intruder = web.stranger.staff
    router_id, package_id = victim.ids["router_id"], victim.ids["package_id"]
    for query in (f"router_id={router_id}", f"package_id={package_id}"):
        listing = await web.api.get(f"{API}/subscribers?{query}", headers=intruder.headers)
        assert listing.status_code in (200, 404, 422), listing.text
        if listing.status_code == 200:
            assert listing.json()["total"] == 0
    retried = await web.api.post(
        f"{API}/subscribers/retry", json={"router_id": router_id}, headers=intruder.headers
    )
    # Another tenant's router in a body is refused like any unknown id (as on creation): 404,
    # since a well-formed request naming an id that is not there is not a 422 (issue 14).
    assert retried.status_code == 404 and "no router" in retried.text, retried.text
    badges = await web.stranger.get(f"/subscribers/badges?ids={victim.ids['subscriber_id']}")
    assert "Pending" not in badges.text
    bulk = await web.stranger.post(
        "/subscribers/bulk", {"action": "suspend", "ids": str(victim.ids["subscriber_id"])}
    )
    assert bulk.status_code in (303, 404, 422)
    retry_form = await web.stranger.post("/subscribers/retry", {"router_id": str(router_id)})
    assert retry_form.status_code == 404
    await _still_there(web, victim)


def _role_writes(app: FastAPI) -> list[Endpoint]:
    return _by_id_first(
        [
            e
            for e in endpoints(app)
            if (e.method in WRITES) and e.template not in OPEN_WRITES | PLATFORM_ONLY
        ]
    )


async def test_a_viewer_can_write_nothing(
    app: FastAPI,
    web: WebTenant,
    victim: Victim,
) -> None:
    viewer: WebClient = web.viewer
    writes = _role_writes(app)
    assert len(writes) >= 30
    for endpoint in writes:
        if endpoint.web:
            response = await viewer.post(endpoint.url(victim.ids))
        else:
            response = await _api_call(web.api, viewer.staff, endpoint, victim.ids)
        assert response.status_code == 403, (endpoint, response.status_code, response.text)
    await _still_there(web, victim)


async def test_an_operator_writes_subscribers_only(
    app: FastAPI,
    web: WebTenant,
    victim: Victim,
) -> None:
    operator: WebClient = web.operator
    allowed = 0
    for endpoint in _role_writes(app):
        url = endpoint.url(victim.ids)
        if endpoint.web:
            response = await operator.post(url)
        else:
            response = await _api_call(web.api, operator.staff, endpoint, victim.ids)
        if endpoint.template.startswith(OPERATOR_PREFIXES):
            # Allowed: whatever the answer (an empty form is refused as such), never 403.
            assert response.status_code != 403 and response.status_code < 500, (
                endpoint,
                response.text,
            )
            allowed += 1
        else:
            assert response.status_code == 403, (endpoint, response.status_code, response.text)
    assert allowed >= 10
