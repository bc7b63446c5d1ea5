"""The REST API as the benchmarks use it (httpx, one client per stack)."""

from __future__ import annotations

from typing import Any

import httpx

ROUTER_PASSWORD = "router-pw"
STAFF_PASSWORD = "Bench-pass-123"


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"{base_url}/api/v1",
            timeout=600.0,
            # An idle connection is dropped before uvicorn's 5 s keep-alive timeout could close
            # it under a request being sent on it (the full run's 10,000 creations hit that
            # race: httpx.ReadError after 1,873 of them).
            limits=httpx.Limits(
                max_connections=256, max_keepalive_connections=256, keepalive_expiry=2.0
            ),
        )
        self.root = base_url
        self.headers: dict[str, str] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def _json(self, response: httpx.Response, *expected: int) -> Any:
        if response.status_code not in (expected or (200, 201)):
            raise ApiError(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:500]}"
            )
        return response.json() if response.content else None

    async def login(self, email: str) -> None:
        response = await self.http.post(
            "/auth/token", data={"username": email, "password": STAFF_PASSWORD}
        )
        token = (await self._json(response))["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._json(await self.http.post(path, json=body, headers=self.headers))

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        return await self._json(await self.http.patch(path, json=body, headers=self.headers))

    async def action(self, subscriber_id: int, name: str) -> Any:
        """`suspend`, `connect`, `renew` or `retry` (a POST without a body)."""
        response = await self.http.post(
            f"/subscribers/{subscriber_id}/{name}", headers=self.headers
        )
        return await self._json(response)

    async def delete_subscriber(self, subscriber_id: int) -> Any:
        """Mark for removal (202); the row goes once the router confirms."""
        response = await self.http.delete(f"/subscribers/{subscriber_id}", headers=self.headers)
        return await self._json(response, 202)

    async def create_router(self, name: str, port: int) -> dict[str, Any]:
        body = {
            "name": name,
            "host": "127.0.0.1",
            "port": port,
            "username": "admin",
            "password": ROUTER_PASSWORD,
        }
        result: dict[str, Any] = await self.post("/routers", body)
        return result

    async def create_package(self, name: str, rate_limit: str) -> dict[str, Any]:
        body = {"name": name, "service": "pppoe", "rate_limit": rate_limit, "price": "10"}
        result: dict[str, Any] = await self.post("/packages", body)
        return result

    async def create_subscriber(
        self, router_id: int, package_id: int, username: str, expires_at: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "router_id": router_id,
            "package_id": package_id,
            "service": "pppoe",
            "username": username,
            "password": f"pw-{username}",
        }
        if expires_at is not None:
            body["expires_at"] = expires_at
        result: dict[str, Any] = await self.post("/subscribers", body)
        return result

    async def import_csv(self, router_id: int, text: str) -> dict[str, Any]:
        response = await self.http.post(
            "/subscribers/import",
            params={"router_id": router_id},
            content=text.encode(),
            headers={**self.headers, "Content-Type": "text/csv"},
        )
        result: dict[str, Any] = await self._json(response)
        if result.get("errors"):
            raise ApiError(f"CSV import reported errors: {result['errors'][:3]}")
        return result

    async def import_available(self) -> bool:
        """Whether this build has the CSV import (it is absent from older builds)."""
        response = await self.http.get(f"{self.root}/openapi.json")
        paths = response.json().get("paths", {}) if response.status_code == 200 else {}
        return "/api/v1/subscribers/import" in paths


def csv_text(usernames: list[str], package: str, expires_at: list[str] | None = None) -> str:
    """An import file: username, password, service, package (and expires_at)."""
    header = "username,password,service,package" + (",expires_at" if expires_at else "")
    lines = [header]
    for i, name in enumerate(usernames):
        row = f"{name},pw-{name},pppoe,{package}"
        if expires_at:
            row += f",{expires_at[i]}"
        lines.append(row)
    return "\n".join(lines) + "\n"
