"""Login (OAuth2 password flow), bearer tokens and the platform admin's tenant management."""

from __future__ import annotations

from datetime import timedelta

import httpx

from mikrosync.runtime import Runtime
from mikrosync.security.tokens import issue_token
from mikrosync.tenants.models import Role
from tests.plugins.core import PASSWORD, Staff, TenantFactory


async def test_token_then_me(client: httpx.AsyncClient, owner: Staff) -> None:
    response = await client.get("/api/v1/auth/me", headers=owner.headers)
    assert response.status_code == 200
    assert response.json()["email"] == owner.email
    assert response.json()["role"] == "owner"


async def test_token_response_shape(client: httpx.AsyncClient, owner: Staff) -> None:
    response = await client.post(
        "/api/v1/auth/token", data={"username": owner.email, "password": PASSWORD}
    )
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["expires_in"] > 0


async def test_wrong_password_and_unknown_email_get_401(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    for email, password in [(owner.email, "wrong-password"), ("nobody@isp.test", PASSWORD)]:
        response = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong email or password"


async def test_missing_forged_and_expired_tokens_get_401(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    expired = issue_token(secret_key=runtime.secret_key, user_id=1, ttl=timedelta(seconds=-5))
    for headers in [{}, {"Authorization": "Bearer forged"}, {"Authorization": f"Bearer {expired}"}]:
        response = await client.get("/api/v1/routers", headers=headers)
        assert response.status_code == 401


async def test_platform_admin_creates_tenant_and_its_owner(
    client: httpx.AsyncClient, factory: TenantFactory
) -> None:
    admin = await factory.staff(None)
    slug = f"isp-{admin.email[6:14]}"
    response = await client.post(
        "/api/v1/tenants", json={"slug": slug, "name": "New ISP"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    tenant_id = response.json()["id"]
    duplicate = await client.post(
        "/api/v1/tenants", json={"slug": slug, "name": "Again"}, headers=admin.headers
    )
    assert duplicate.status_code == 409
    email = f"boss-{slug}@isp.test"
    response = await client.post(
        f"/api/v1/tenants/{tenant_id}/users",
        json={"email": email, "password": PASSWORD, "role": "owner"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["tenant_id"] == tenant_id
    listed = await client.get("/api/v1/tenants", headers=admin.headers)
    assert slug in [t["slug"] for t in listed.json()]


async def test_platform_admin_cannot_act_inside_a_tenant(
    client: httpx.AsyncClient, factory: TenantFactory
) -> None:
    admin = await factory.staff(None)
    response = await client.get("/api/v1/routers", headers=admin.headers)
    assert response.status_code == 403
    assert "platform admins manage tenants" in response.json()["detail"]


async def test_tenant_owner_cannot_manage_tenants(client: httpx.AsyncClient, owner: Staff) -> None:
    response = await client.post(
        "/api/v1/tenants", json={"slug": "nope", "name": "Nope"}, headers=owner.headers
    )
    assert response.status_code == 403


async def test_owner_manages_staff_and_lower_roles_cannot(
    client: httpx.AsyncClient, factory: TenantFactory
) -> None:
    tenant_id = await factory.tenant()
    owner = await factory.staff(tenant_id)
    admin = await factory.staff(tenant_id, Role.ADMIN)
    body = {"email": f"new-{owner.email}", "password": PASSWORD, "role": "operator"}
    assert (await client.post("/api/v1/users", json=body, headers=admin.headers)).status_code == 403
    created = await client.post("/api/v1/users", json=body, headers=owner.headers)
    assert created.status_code == 201
    assert created.json()["role"] == "operator"
    users = await client.get("/api/v1/users", headers=owner.headers)
    assert {u["email"] for u in users.json()} == {owner.email, admin.email, body["email"]}
    assert "password_hash" not in users.text
