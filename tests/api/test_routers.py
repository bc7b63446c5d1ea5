"""Routers: CRUD, the write-only encrypted password, validation and conflicts."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from tests.helpers import make_router, make_subscriber
from tests.plugins.core import Staff


async def test_router_crud(client: httpx.AsyncClient, owner: Staff) -> None:
    created = await make_router(client, owner, name="core-1", port=8729, use_tls=True)
    assert created["name"] == "core-1" and created["use_tls"] is True
    assert created["is_online"] is None
    url = f"/api/v1/routers/{created['id']}"
    assert (await client.get(url, headers=owner.headers)).json()["port"] == 8729
    patched = await client.patch(url, json={"host": "10.1.1.1"}, headers=owner.headers)
    assert patched.status_code == 200 and patched.json()["host"] == "10.1.1.1"
    listed = await client.get("/api/v1/routers", headers=owner.headers)
    assert [r["name"] for r in listed.json()] == ["core-1"]
    assert (await client.delete(url, headers=owner.headers)).status_code == 204
    assert (await client.get(url, headers=owner.headers)).status_code == 404


async def test_password_is_never_returned_and_is_encrypted_at_rest(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    created = await make_router(client, owner, password="Sup3r-Secret")
    url = f"/api/v1/routers/{created['id']}"
    for response in [
        await client.get(url, headers=owner.headers),
        await client.get("/api/v1/routers", headers=owner.headers),
        await client.patch(url, json={"password": "N3w-Secret"}, headers=owner.headers),
    ]:
        assert "Secret" not in response.text and "password" not in response.json()
    async with runtime.sessionmaker() as session:
        stored = (await session.scalars(select(Router).where(Router.id == created["id"]))).one()
    assert "N3w-Secret" not in stored.password_encrypted
    assert runtime.vault.decrypt(stored.password_encrypted) == "N3w-Secret"


async def test_duplicate_router_name_is_409(client: httpx.AsyncClient, owner: Staff) -> None:
    await make_router(client, owner, name="edge")
    body = {"name": "edge", "host": "h", "username": "u", "password": "p"}
    response = await client.post("/api/v1/routers", json=body, headers=owner.headers)
    assert response.status_code == 409
    assert "edge" in response.json()["detail"]


async def test_router_with_subscribers_cannot_be_deleted(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    subscriber = await make_subscriber(client, owner)
    response = await client.delete(
        f"/api/v1/routers/{subscriber['router_id']}", headers=owner.headers
    )
    assert response.status_code == 409
    assert "1 subscriber" in response.json()["detail"]


async def test_router_validation_names_the_field(client: httpx.AsyncClient, owner: Staff) -> None:
    cases = {
        "port": {"port": 70000},
        "host": {"host": "bad host!"},
        "password": {"password": "has space"},
        "tls_fingerprint": {"tls_fingerprint": "xyz"},
    }
    for field, override in cases.items():
        body = {"name": "r", "host": "127.0.0.1", "username": "admin", "password": "pw"} | override
        response = await client.post("/api/v1/routers", json=body, headers=owner.headers)
        assert response.status_code == 422, field
        assert response.json()["detail"][0]["loc"][-1] == field
