"""Payment pages over ASGI, on both databases: cash recorded from the subscriber page, the
wallet ledger, the payments list with filters, totals and CSV export, unmatched payments
assigned or refunded, roles and tenancy."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from fastapi import FastAPI

from mikrosync.mpesa_sim import SimConfig
from mikrosync.mpesa_sim.server import running_mpesa
from mikrosync.payments import service
from mikrosync.payments.models import Method
from mikrosync.runtime import Runtime
from tests.helpers import make_package, make_subscriber, unique
from tests.plugins.web import WebTenant


async def _subscriber(web: WebTenant) -> dict[str, Any]:
    package = await make_package(web.api, web.staff, price="40.00", duration_days=30)
    return await make_subscriber(web.api, web.staff, package_id=package["id"])


async def _unmatched(runtime: Runtime, web: WebTenant, account: str) -> int:
    tenant_id = web.staff.tenant_id
    assert tenant_id is not None
    async with runtime.sessionmaker() as session:
        recorded = await service.record_payment(
            session,
            tenant_id=tenant_id,
            data=service.NewPayment(
                amount="40",
                method=Method.MPESA,
                provider="mpesa",
                provider_reference=unique("WEB").upper(),
                account_reference=account,
                payer_phone="254700111222",
            ),
            actor="mpesa",
        )
    return recorded.payment.id


async def test_cash_payment_from_the_subscriber_page(web: WebTenant) -> None:
    created = await _subscriber(web)
    url = f"/subscribers/{created['id']}"
    page = await web.operator.get(url)
    assert f'hx-get="{url}/wallet"' in page.text
    reference = unique("R")
    response = await web.operator.post(
        f"{url}/payments", {"amount": "100", "method": "cash", "reference": reference}
    )
    assert response.status_code == 303 and response.headers["location"] == url
    flash = (await web.operator.get(url)).text
    assert "Payment of 100.00 recorded. Renewed 1 period(s)" in flash
    again = await web.operator.post(
        f"{url}/payments", {"amount": "100", "method": "cash", "reference": reference}
    )
    assert again.status_code == 303
    assert "recorded before; nothing changed" in (await web.operator.get(url)).text
    wallet = await web.operator.get(f"{url}/wallet")
    assert '<span id="balance">60.00</span>' in wallet.text
    assert wallet.text.count('class="entry-') == 2
    refused = await web.operator.post(f"{url}/payments", {"amount": "0.001"})
    assert refused.status_code == 303
    assert "Payment not recorded" in (await web.operator.get(url)).text


async def test_list_filters_totals_and_csv(web: WebTenant, runtime: Runtime) -> None:
    created = await _subscriber(web)
    for amount in ("10", "20.50"):
        await web.operator.post(f"/subscribers/{created['id']}/payments", {"amount": amount})
    account = unique("=cmd")
    await _unmatched(runtime, web, account)
    page = await web.viewer.get("/payments", params={"method": "mpesa", "q": account})
    assert page.status_code == 200
    assert "1 payment(s), total <strong>40.00</strong>" in page.text
    assert 'id="revenue-days"' in page.text
    partial = await web.viewer.get(
        "/payments", params={"method": "cash"}, headers={"HX-Request": "true"}
    )
    assert partial.text.lstrip().startswith('<div id="results">')
    export = await web.viewer.get("/payments/export.csv", params={"q": account})
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 1 and rows[0]["amount"] == "40.00"
    # A payer-typed "=..." cannot become a spreadsheet formula.
    assert rows[0]["account"] == "'" + account
    bad = await web.viewer.get("/payments", params={"date_from": "yesterday"})
    assert bad.status_code == 200 and "not understood" in bad.text


async def test_unmatched_payment_assigned_then_refund_refused(
    web: WebTenant, runtime: Runtime
) -> None:
    created = await _subscriber(web)
    payment_id = await _unmatched(runtime, web, "unknown-acct")
    listed = await web.operator.get("/payments", params={"matched": "false"})
    assert f'action="/payments/{payment_id}/assign"' in listed.text
    response = await web.operator.post(
        f"/payments/{payment_id}/assign", {"subscriber": created["username"]}
    )
    assert response.status_code == 303
    assert f"applied to {created['username']}" in (await web.operator.get("/payments")).text
    wallet = (
        await web.api.get(f"/api/v1/subscribers/{created['id']}/wallet", headers=web.staff.headers)
    ).json()
    assert [e["kind"] for e in wallet["entries"]] == ["debit", "credit"]
    refused = await web.operator.post(f"/payments/{payment_id}/refund")
    assert refused.status_code == 303
    assert "is applied, not unmatched" in (await web.operator.get("/payments")).text
    other = await _unmatched(runtime, web, "refund-me")
    assert (await web.operator.post(f"/payments/{other}/refund")).status_code == 303
    assert "marked as refunded" in (await web.operator.get("/payments")).text


async def test_roles_and_tenancy(web: WebTenant, runtime: Runtime) -> None:
    created = await _subscriber(web)
    payment_id = await _unmatched(runtime, web, "viewer-cannot")
    wallet = await web.viewer.get(f"/subscribers/{created['id']}/wallet")
    assert wallet.status_code == 200 and "Record payment" not in wallet.text
    refused = await web.viewer.post(f"/subscribers/{created['id']}/payments", {"amount": "5"})
    assert refused.status_code == 403
    assert (
        await web.viewer.post(f"/payments/{payment_id}/assign", {"subscriber": "x"})
    ).status_code == 403
    assert (await web.stranger.get(f"/subscribers/{created['id']}/wallet")).status_code == 404
    stranger = await web.stranger.post(
        f"/payments/{payment_id}/assign", {"subscriber": f"#{created['id']}"}
    )
    assert stranger.status_code == 404  # another tenant's subscriber: not found
    assert "viewer-cannot" not in (await web.stranger.get("/payments")).text


async def test_stk_push_from_the_subscriber_page(web: WebTenant, app: FastAPI) -> None:
    created = await make_subscriber(
        web.api,
        web.staff,
        package_id=(await make_package(web.api, web.staff, price="30"))["id"],
        phone="0712444555",
    )
    url = f"/subscribers/{created['id']}"
    config = SimConfig(stk_delay_s=0.05)
    async with running_mpesa(config, transport=httpx.ASGITransport(app=app)) as daraja:
        saved = await web.api.put(
            "/api/v1/mpesa/account",
            json={
                "shortcode": config.shortcode,
                "api_url": daraja.url,
                "callback_base_url": "http://test",
                "consumer_key": config.consumer_key,
                "consumer_secret": config.consumer_secret,
                "passkey": config.passkey,
            },
            headers=web.staff.headers,
        )
        assert saved.status_code == 200, saved.text
        wallet = await web.operator.get(f"{url}/wallet")
        assert "Request M-Pesa payment" in wallet.text and 'value="0712444555"' in wallet.text
        response = await web.operator.post(f"{url}/stk-push", {"amount": "30", "phone": ""})
        assert response.status_code == 303
        assert "M-Pesa prompt sent to 254712444555" in (await web.operator.get(url)).text
        await daraja.sim.idle()
        refused = await web.operator.post(f"{url}/stk-push", {"amount": "12.50"})
        assert refused.status_code == 303
        assert "whole amounts only" in (await web.operator.get(url)).text
    wallet = await web.operator.get(f"{url}/wallet")
    assert '<span id="balance">0.00</span>' in wallet.text
    assert "mpesa payment S" in wallet.text  # the receipt number of the STK payment
