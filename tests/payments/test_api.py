"""The payments REST API: recording cash, listing with filters and totals, the wallet,
unmatched payments, roles and tenancy."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from mikrosync.payments import service
from mikrosync.payments.models import Method
from mikrosync.runtime import Runtime
from mikrosync.tenants.models import Role
from tests.helpers import make_package, make_subscriber, unique
from tests.plugins.core import Staff, TenantFactory


async def _subscriber(client: httpx.AsyncClient, owner: Staff) -> dict[str, Any]:
    package = await make_package(client, owner, price="25.00", duration_days=30)
    return await make_subscriber(client, owner, package_id=package["id"], phone="0712345678")


async def _cash(
    client: httpx.AsyncClient, staff: Staff, subscriber_id: int, amount: Any, **extra: Any
) -> httpx.Response:
    body = {"subscriber_id": subscriber_id, "amount": amount} | extra
    return await client.post("/api/v1/payments", json=body, headers=staff.headers)


async def test_cash_payment_credits_renews_and_shows_in_wallet(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await _subscriber(client, owner)
    response = await _cash(client, owner, created["id"], "60", reference="RCPT-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duplicate"] is False
    assert body["payment"]["amount"] == "60.00" and body["payment"]["method"] == "cash"
    assert body["renewal"]["periods"] == 1 and body["renewal"]["cost"] == "25.00"
    again = await _cash(client, owner, created["id"], "60", reference="RCPT-1")
    assert again.status_code == 201 and again.json()["duplicate"] is True
    assert again.json()["payment"]["id"] == body["payment"]["id"]

    wallet = (
        await client.get(f"/api/v1/subscribers/{created['id']}/wallet", headers=owner.headers)
    ).json()
    assert wallet["balance"] == "35.00"
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in wallet["entries"]] == [
        ("debit", "25.00", "35.00"),
        ("credit", "60.00", "60.00"),
    ]
    row = (await client.get(f"/api/v1/subscribers/{created['id']}", headers=owner.headers)).json()
    assert row["sync_status"] == "pending"


async def test_list_filters_and_totals(client: httpx.AsyncClient, owner: Staff) -> None:
    created = await _subscriber(client, owner)
    for amount, method in (("10", "cash"), ("15.50", "bank"), ("7", "cash")):
        response = await _cash(client, owner, created["id"], amount, method=method)
        assert response.status_code == 201, response.text
    page = (await client.get("/api/v1/payments", headers=owner.headers)).json()
    assert page["total"] == 3 and page["totals"]["amount"] == "32.50"
    cash = (
        await client.get("/api/v1/payments", params={"method": "cash"}, headers=owner.headers)
    ).json()
    assert cash["totals"] == {"count": 2, "amount": "17.00"}
    unmatched = (
        await client.get("/api/v1/payments", params={"matched": "false"}, headers=owner.headers)
    ).json()
    assert unmatched["total"] == 0


async def test_refused_amounts_are_422_and_record_nothing(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await _subscriber(client, owner)
    for amount in ("0", "-3", "2.005", "ten", 1e300, True, None, [5]):
        response = await _cash(client, owner, created["id"], amount)
        assert response.status_code == 422, (amount, response.text)
        assert "amount" in response.json()["detail"][0]["loc"]
    page = (await client.get("/api/v1/payments", headers=owner.headers)).json()
    assert page["total"] == 0


async def test_roles_and_tenancy(
    client: httpx.AsyncClient, owner: Staff, factory: TenantFactory
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    viewer = await factory.staff(owner.tenant_id, Role.VIEWER)
    operator = await factory.staff(owner.tenant_id, Role.OPERATOR)
    assert (await _cash(client, viewer, created["id"], "5")).status_code == 403
    assert (await _cash(client, operator, created["id"], "5")).status_code == 201
    settings = {"max_periods": 3}
    response = await client.patch(
        "/api/v1/payment-settings", json=settings, headers=operator.headers
    )
    assert response.status_code == 403
    response = await client.patch("/api/v1/payment-settings", json=settings, headers=owner.headers)
    assert response.status_code == 200 and response.json()["max_periods"] == 3
    stranger = await factory.staff(await factory.tenant())
    assert (await _cash(client, stranger, created["id"], "5")).status_code == 404
    wallet = await client.get(
        f"/api/v1/subscribers/{created['id']}/wallet", headers=stranger.headers
    )
    assert wallet.status_code == 404
    listed = (await client.get("/api/v1/payments", headers=stranger.headers)).json()
    assert listed["total"] == 0


async def test_unmatched_payment_assigned_through_the_api(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    async with runtime.sessionmaker() as session:
        recorded = await service.record_payment(
            session,
            tenant_id=owner.tenant_id,
            data=service.NewPayment(
                amount=Decimal("25"),
                method=Method.MPESA,
                provider="mpesa",
                provider_reference=unique("UNM"),
                account_reference="nobody",
            ),
            actor="mpesa",
        )
    pid = recorded.payment.id
    listed = (
        await client.get("/api/v1/payments", params={"matched": "false"}, headers=owner.headers)
    ).json()
    assert [p["id"] for p in listed["items"]] == [pid]
    assigned = await client.post(
        f"/api/v1/payments/{pid}/assign",
        json={"subscriber_id": created["id"]},
        headers=owner.headers,
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["payment"]["status"] == "applied"
    assert assigned.json()["renewal"]["periods"] == 1
    twice = await client.post(
        f"/api/v1/payments/{pid}/assign",
        json={"subscriber_id": created["id"]},
        headers=owner.headers,
    )
    assert twice.status_code == 409
    refund = await client.post(f"/api/v1/payments/{pid}/refund", json={}, headers=owner.headers)
    assert refund.status_code == 409
