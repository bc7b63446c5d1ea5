"""The generic HMAC-signed payment webhook: signed payments recorded once per reference,
bad signatures, stale timestamps and malformed bodies refused, secrets shown once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from mikrosync.payments.webhook import signature
from tests.helpers import make_package, make_subscriber, unique
from tests.plugins.core import Staff


async def _hook(client: httpx.AsyncClient, owner: Staff) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/payment-webhooks", json={"provider": unique("bank")}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _post(
    client: httpx.AsyncClient,
    hook: dict[str, Any],
    body: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    at: float | None = None,
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(at if at is not None else time.time()))
    headers = {
        "X-Mikrosync-Timestamp": stamp,
        "X-Mikrosync-Signature": signature(secret or hook["secret"], stamp, raw),
        "Content-Type": "application/json",
    }
    return await client.post(hook["path"], content=raw, headers=headers)


async def test_signed_payment_is_recorded_once(client: httpx.AsyncClient, owner: Staff) -> None:
    package = await make_package(client, owner, price="15.00")
    created = await make_subscriber(client, owner, package_id=package["id"])
    hook = await _hook(client, owner)
    body = {
        "reference": "TX-9",
        "amount": "15.00",
        "account": created["username"],
        "method": "bank",
    }
    answers = await asyncio.gather(*(_post(client, hook, body) for _ in range(8)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["detail"] for a in answers).count("recorded") == 1
    page = (
        await client.get(
            "/api/v1/payments", params={"subscriber_id": created["id"]}, headers=owner.headers
        )
    ).json()
    assert page["total"] == 1 and page["items"][0]["provider"] == hook["provider"]
    assert page["items"][0]["recorded_by"] == f"webhook:{hook['provider']}"
    listed = (await client.get("/api/v1/payment-webhooks", headers=owner.headers)).json()
    assert hook["secret"] not in json.dumps(listed)


async def test_refusals(client: httpx.AsyncClient, owner: Staff) -> None:
    hook = await _hook(client, owner)
    body = {"reference": "TX-1", "amount": "5"}
    assert (await _post(client, hook, body, secret="not-the-secret")).status_code == 401
    assert (await _post(client, hook, body, at=time.time() - 3600)).status_code == 401
    unsigned = await client.post(hook["path"], json=body)
    assert unsigned.status_code == 401
    assert (await _post(client, hook, b'{"reference": ')).status_code == 400
    bad_amount = await _post(client, hook, {"reference": "TX-2", "amount": "0.001"})
    assert bad_amount.status_code == 422 and bad_amount.json()["field"] == "amount"
    unknown = await _post(client, hook, {"reference": "TX-3", "amount": "5", "account": "?"})
    assert unknown.status_code == 200 and unknown.json()["status"] == "unmatched"
    reserved = await client.post(
        "/api/v1/payment-webhooks", json={"provider": "mpesa"}, headers=owner.headers
    )
    assert reserved.status_code == 422
