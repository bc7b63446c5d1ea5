"""An in-process app for the M-Pesa simulator to call back (over ASGI, nothing leaves the
process), and a tenant with Daraja set up against a running simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mikrosync.mpesa_sim import SimConfig
from mikrosync.mpesa_sim.server import RunningSim, running_mpesa
from tests.helpers import make_package, make_subscriber
from tests.plugins.core import Staff

CALLBACK_BASE = "http://callbacks.test"


@pytest.fixture(scope="session")
def callback_transport(app: FastAPI) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


@dataclass
class MpesaSite:
    client: httpx.AsyncClient
    owner: Staff
    running: RunningSim
    urls: dict[str, str]
    package: dict[str, Any]

    async def subscriber(self, **fields: Any) -> dict[str, Any]:
        return await make_subscriber(
            self.client, self.owner, package_id=self.package["id"], **fields
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(
            method, f"/api/v1{path}", headers=self.owner.headers, **kwargs
        )

    async def payments(self, **params: Any) -> dict[str, Any]:
        response = await self.call("GET", "/payments", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
async def mpesa(
    client: httpx.AsyncClient, owner: Staff, callback_transport: httpx.ASGITransport
) -> AsyncIterator[MpesaSite]:
    config = SimConfig(stk_delay_s=0.2)
    async with running_mpesa(config, transport=callback_transport) as running:
        response = await client.put(
            "/api/v1/mpesa/account",
            json={
                "shortcode": config.shortcode,
                "api_url": running.url,
                "callback_base_url": CALLBACK_BASE,
                "consumer_key": config.consumer_key,
                "consumer_secret": config.consumer_secret,
                "passkey": config.passkey,
            },
            headers=owner.headers,
        )
        assert response.status_code == 200, response.text
        urls = response.json()["callback_urls"]
        package = await make_package(client, owner, price="30.00", duration_days=30)
        yield MpesaSite(client, owner, running, urls, package)
