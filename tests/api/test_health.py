"""Probes and the OpenAPI document."""

from __future__ import annotations

import httpx


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_openapi_lists_the_fixed_paths(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in [
        "/api/v1/auth/token",
        "/api/v1/routers",
        "/api/v1/packages",
        "/api/v1/subscribers",
        "/api/v1/subscribers/{subscriber_id}/suspend",
        "/api/v1/subscribers/{subscriber_id}/connect",
        "/api/v1/subscribers/{subscriber_id}/renew",
        "/api/v1/subscribers/{subscriber_id}/retry",
        "/api/v1/subscribers/{subscriber_id}/events",
    ]:
        assert path in paths, path
