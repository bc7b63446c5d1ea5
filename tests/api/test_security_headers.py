"""Security headers on API, UI and probe responses."""

from __future__ import annotations

import httpx


async def test_headers_on_every_kind_of_response(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/api/v1/routers", "/login", "/openapi.json"):
        response = await client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
    # /docs has its own policy: its own origin only, and the inline script starting Swagger UI.
    docs = await client.get("/docs")
    policy = docs.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self' 'unsafe-inline'" in policy and "frame-ancestors 'none'" in policy


async def test_hsts_only_behind_tls(client: httpx.AsyncClient) -> None:
    assert "Strict-Transport-Security" not in (await client.get("/healthz")).headers
    tls = await client.get("https://test/healthz")
    assert tls.headers["Strict-Transport-Security"].startswith("max-age=")
