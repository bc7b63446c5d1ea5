"""Request helpers that build a router, a package and a subscriber through the API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import Staff


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
