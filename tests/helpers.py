"""Request helpers that build a router, a package and a subscriber through the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from tests.plugins.core import Staff


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def post_ok(
    client: httpx.AsyncClient, staff: Staff, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def make_router(client: httpx.AsyncClient, staff: Staff, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": unique("r"),
        "host": "127.0.0.1",
        "port": 8728,
        "username": "admin",
        "password": "router-pw",
    } | overrides
    return await post_ok(client, staff, "/api/v1/routers", body)


async def make_package(client: httpx.AsyncClient, staff: Staff, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": unique("Home"),
        "service": "pppoe",
        "rate_limit": "10M/5M",
        "price": "20.00",
    } | overrides
    return await post_ok(client, staff, "/api/v1/packages", body)


async def make_subscriber(
    client: httpx.AsyncClient, staff: Staff, **overrides: Any
) -> dict[str, Any]:
    if "router_id" not in overrides:
        overrides["router_id"] = (await make_router(client, staff))["id"]
    if "package_id" not in overrides:
        service = overrides.get("service", "pppoe")
        overrides["package_id"] = (await make_package(client, staff, service=service))["id"]
    body = {"service": "pppoe", "username": unique("user"), "password": "svc-pw"} | overrides
    return await post_ok(client, staff, "/api/v1/subscribers", body)


SERVICE_RATES = {"pppoe": "10M/5M", "hotspot": "2M/1M", "static": "20M/20M"}


@dataclass
class RouterSite:
    """A tenant with one simulated router and a package per service, driven through the API."""

    client: httpx.AsyncClient
    owner: Staff
    sim: SimRouter
    router: dict[str, Any]
    packages: dict[str, dict[str, Any]]

    @classmethod
    async def create(
        cls, client: httpx.AsyncClient, owner: Staff, sim: SimRouter, password: str
    ) -> dict[str, Any]:
        """The constructor arguments: the router row and one package per service."""
        router = await make_router(
            client, owner, host=sim.host, port=sim.port, username="admin", password=password
        )
        packages = {
            service: await make_package(client, owner, service=service, rate_limit=rate)
            for service, rate in SERVICE_RATES.items()
        }
        return {
            "client": client,
            "owner": owner,
            "sim": sim,
            "router": router,
            "packages": packages,
        }

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(
            method, f"/api/v1{path}", headers=self.owner.headers, **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json()

    async def subscriber(self, service: str = "pppoe", **overrides: Any) -> dict[str, Any]:
        extra: dict[str, Any] = {"password": None} if service == "static" else {}
        return await make_subscriber(
            self.client,
            self.owner,
            router_id=self.router["id"],
            package_id=self.packages[service]["id"],
            service=service,
            **(extra | overrides),
        )

    async def status(self, subscriber_id: int) -> dict[str, Any]:
        """The subscriber as the API shows it, or {"gone": True} once its row is deleted."""
        response = await self.client.get(
            f"/api/v1/subscribers/{subscriber_id}", headers=self.owner.headers
        )
        if response.status_code == 404:
            return {"gone": True}
        result: dict[str, Any] = response.json()
        return result

    def rows(self, path: str, **match: str) -> list[dict[str, str]]:
        """The simulated router's rows of a menu whose fields equal `match`."""
        return [
            row
            for row in self.sim.rows(path)
            if all(row.get(key) == value for key, value in match.items())
        ]


@asynccontextmanager
async def sync_deps(
    runtime: Runtime, settings: Settings, *, timeout_s: float
) -> AsyncIterator[Runtime]:
    """The test runtime with router pools of its own (as the worker has), with router timeouts
    short enough for a test that provokes them."""
    fast = settings.model_copy(
        update={"router_connect_timeout_s": timeout_s, "router_command_timeout_s": timeout_s}
    )
    async with runtime.private_routers(settings=fast) as private:
        yield private
