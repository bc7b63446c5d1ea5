"""Packages: CRUD, profile names, durations, rate-limit validation, conflicts."""

from __future__ import annotations

import httpx

from tests.helpers import make_package, make_subscriber
from tests.plugins.core import Staff


async def test_package_crud_and_defaults(client: httpx.AsyncClient, owner: Staff) -> None:
    created = await make_package(client, owner, name="Home 10M", price="19.99")
    assert created["profile_name"] == "home-10m"
    assert created["duration_minutes"] == 30 * 24 * 60 and created["duration_days"] == 30
    assert created["price"] == "19.99"
    url = f"/api/v1/packages/{created['id']}"
    patched = await client.patch(
        url, json={"rate_limit": "20M/10M", "duration_hours": 12}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["rate_limit"] == "20M/10M"
    assert patched.json()["duration_minutes"] == 12 * 60
    assert (await client.delete(url, headers=owner.headers)).status_code == 204
    assert (await client.get(url, headers=owner.headers)).status_code == 404


async def test_hourly_package_and_explicit_profile(client: httpx.AsyncClient, owner: Staff) -> None:
    created = await make_package(
        client,
        owner,
        service="hotspot",
        duration_days=0,
        duration_hours=1,
        duration_minutes=30,
        profile_name="hs-1h30",
    )
    assert created["duration_minutes"] == 90 and created["profile_name"] == "hs-1h30"


async def test_package_validation(client: httpx.AsyncClient, owner: Staff) -> None:
    cases = {
        "rate_limit": {"rate_limit": "fast please"},
        "service": {"service": "dialup"},
        "price": {"price": "-1"},
        "profile_name": {"profile_name": "has space"},
    }
    for field, override in cases.items():
        body = {"name": "P", "service": "pppoe", "rate_limit": "10M/5M"} | override
        response = await client.post("/api/v1/packages", json=body, headers=owner.headers)
        assert response.status_code == 422, field
        assert response.json()["detail"][0]["loc"][-1] == field
    zero = {"name": "Z", "service": "pppoe", "rate_limit": "1M", "duration_days": 0}
    response = await client.post("/api/v1/packages", json=zero, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "duration_days"]


async def test_package_conflicts(client: httpx.AsyncClient, owner: Staff) -> None:
    package = await make_package(client, owner, name="Gold")
    again = await client.post(
        "/api/v1/packages",
        json={"name": "Gold", "service": "pppoe", "rate_limit": "1M"},
        headers=owner.headers,
    )
    assert again.status_code == 409
    await make_subscriber(client, owner, package_id=package["id"])
    url = f"/api/v1/packages/{package['id']}"
    assert (await client.delete(url, headers=owner.headers)).status_code == 409
    service_change = await client.patch(url, json={"service": "hotspot"}, headers=owner.headers)
    assert service_change.status_code == 409
