"""Subscribers: intent recorded in one transaction, actions, filters, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import Staff


async def _events(client: httpx.AsyncClient, staff: Staff, subscriber_id: int) -> list[Any]:
    response = await client.get(
        f"/api/v1/subscribers/{subscriber_id}/events", headers=staff.headers
    )
    assert response.status_code == 200
    events: list[Any] = response.json()
    return events


async def _action(
    client: httpx.AsyncClient, staff: Staff, subscriber_id: int, action: str
) -> httpx.Response:
    return await client.post(f"/api/v1/subscribers/{subscriber_id}/{action}", headers=staff.headers)


async def test_create_is_pending_at_version_1_with_add_user_event(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    created = await make_subscriber(client, owner, username="alice", password="Pw-alice1")
    assert created["sync_status"] == "pending"
    assert created["desired_version"] == 1 and created["synced_version"] == 0
    assert "password" not in created and "Pw-alice1" not in str(created)
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    events = await _events(client, owner, created["id"])
    assert [(e["operation"], e["outcome"], e["desired_version"]) for e in events] == [
        ("addUser", "requested", 1)
    ]
    assert events[0]["actor"] == owner.email
    async with runtime.sessionmaker() as session:
        row = (
            await session.scalars(select(Subscriber).where(Subscriber.id == created["id"]))
        ).one()
    assert row.password_encrypted and "Pw-alice1" not in row.password_encrypted
    assert runtime.vault.decrypt(row.password_encrypted) == "Pw-alice1"


async def test_package_change_sets_pending_package_only(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await make_subscriber(client, owner)
    faster = await make_package(client, owner, rate_limit="50M/20M")
    url = f"/api/v1/subscribers/{created['id']}"
    patched = (
        await client.patch(url, json={"package_id": faster["id"]}, headers=owner.headers)
    ).json()
    assert patched["package_id"] == created["package_id"]
    assert patched["pending_package_id"] == faster["id"]
    assert patched["desired_version"] == 2 and patched["sync_status"] == "pending"
    assert (await _events(client, owner, created["id"]))[0]["operation"] == "updateUserPackage"
    back = (
        await client.patch(url, json={"package_id": created["package_id"]}, headers=owner.headers)
    ).json()
    assert back["pending_package_id"] is None and back["desired_version"] == 3


async def test_contact_change_does_not_touch_the_router_state(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await make_subscriber(client, owner)
    url = f"/api/v1/subscribers/{created['id']}"
    patched = (
        await client.patch(url, json={"full_name": "Ada", "phone": "+1 555"}, headers=owner.headers)
    ).json()
    assert patched["full_name"] == "Ada" and patched["desired_version"] == 1
    password = (
        await client.patch(url, json={"password": "New-pw-2"}, headers=owner.headers)
    ).json()
    assert password["desired_version"] == 2
    assert (await _events(client, owner, created["id"]))[0]["operation"] == "updateUser"
    same = (await client.patch(url, json={"password": "New-pw-2"}, headers=owner.headers)).json()
    assert same["desired_version"] == 2


async def test_suspend_connect_renew_retry_delete(client: httpx.AsyncClient, owner: Staff) -> None:
    created = await make_subscriber(client, owner)
    sid = created["id"]
    suspended = (await _action(client, owner, sid, "suspend")).json()
    assert suspended["is_suspended"] and suspended["suspend_reason"] == "manual"
    assert suspended["desired_version"] == 2
    again = (await _action(client, owner, sid, "suspend")).json()
    assert again["desired_version"] == 2
    connected = (await _action(client, owner, sid, "connect")).json()
    assert not connected["is_suspended"] and connected["desired_version"] == 3
    renewed = (await _action(client, owner, sid, "renew")).json()
    old_expiry = datetime.fromisoformat(created["expires_at"])
    assert datetime.fromisoformat(renewed["expires_at"]) - old_expiry == timedelta(days=30)
    retried = (await _action(client, owner, sid, "retry")).json()
    assert retried["sync_status"] == "pending" and retried["desired_version"] == 5
    deleted = await client.delete(f"/api/v1/subscribers/{sid}", headers=owner.headers)
    assert deleted.status_code == 202 and deleted.json()["pending_removal"] is True
    blocked = await _action(client, owner, sid, "suspend")
    assert blocked.status_code == 409 and "being removed" in blocked.json()["detail"]
    operations = [e["operation"] for e in await _events(client, owner, sid)]
    assert operations == [
        "removeUser",
        "retry",
        "connectUser",
        "connectUser",
        "disconnectUser",
        "addUser",
    ]


async def test_expired_subscriber_renewal_reconnects(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    created = await make_subscriber(client, owner, expires_at=past)
    sid = created["id"]
    async with runtime.sessionmaker() as session:
        row = await session.get(Subscriber, sid)
        assert row is not None
        row.is_suspended, row.suspend_reason = True, "expired"
        await session.commit()
    refused = await _action(client, owner, sid, "connect")
    assert refused.status_code == 409 and "renew" in refused.json()["detail"]
    renewed = (await _action(client, owner, sid, "renew")).json()
    assert renewed["is_suspended"] is False
    expires = datetime.fromisoformat(renewed["expires_at"])
    assert expires > datetime.now(UTC) + timedelta(days=29)


async def test_list_filters_and_pagination(client: httpx.AsyncClient, owner: Staff) -> None:
    router = await make_router(client, owner)
    other_router = await make_router(client, owner)
    package = await make_package(client, owner)
    ids = []
    for index in range(5):
        created = await make_subscriber(
            client,
            owner,
            router_id=router["id"],
            package_id=package["id"],
            username=f"client{index}",
            full_name=f"Client Number {index}",
        )
        ids.append(created["id"])
    await make_subscriber(client, owner, router_id=other_router["id"], package_id=package["id"])
    await _action(client, owner, ids[0], "suspend")

    async def listing(**params: Any) -> dict[str, Any]:
        response = await client.get("/api/v1/subscribers", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    assert (await listing())["total"] == 6
    page = await listing(router_id=router["id"], per_page=2, page=2)
    assert page["total"] == 5 and [s["id"] for s in page["items"]] == ids[2:4]
    assert (await listing(is_suspended=True))["items"][0]["id"] == ids[0]
    assert (await listing(q="number 3"))["items"][0]["id"] == ids[3]
    assert (await listing(sync_status="pending"))["total"] == 6
    assert (await listing(sync_status="synced"))["total"] == 0
    assert (await listing(expired=True))["total"] == 0
    assert (await listing(expired=False))["total"] == 6
    assert (await listing(package_id=package["id"]))["total"] == 6
    bad = await client.get(
        "/api/v1/subscribers", params={"sync_status": "weird"}, headers=owner.headers
    )
    assert bad.status_code == 422


async def test_subscriber_validation_names_the_field(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    router = await make_router(client, owner)
    pppoe = await make_package(client, owner)
    static = await make_package(client, owner, service="static")
    base = {
        "router_id": router["id"],
        "package_id": pppoe["id"],
        "service": "pppoe",
        "username": "bob",
        "password": "pw-bob",
    }
    cases = {
        "username": {"username": "bob smith"},
        "password": {"password": "tab\tpw"},
        "remote_address": {"remote_address": "10.0.0.999"},
        "email": {"email": "not-an-email"},
        "static_ip": {"static_ip": "10.0.0.8"},
        "service": {"service": "dialup"},
        "expires_at": {"expires_at": "2030-01-01T00:00:00"},
    }
    for field, override in cases.items():
        response = await client.post(
            "/api/v1/subscribers", json=base | override, headers=owner.headers
        )
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"][-1] == field, response.text
    # What no request schema can know, named too: an id that is not the tenant's (404) and a
    # package of another service (409), issue 14.
    for field, override, status in (
        ("package_id", {"package_id": static["id"]}, 409),
        ("router_id", {"router_id": 999999}, 404),
    ):
        response = await client.post(
            "/api/v1/subscribers", json=base | override, headers=owner.headers
        )
        assert response.status_code == status, (field, response.text)
        assert response.json()["field"] == field, response.text
    needs_ip = base | {"service": "static", "package_id": static["id"], "password": None}
    response = await client.post("/api/v1/subscribers", json=needs_ip, headers=owner.headers)
    assert response.json()["detail"][0]["loc"][-1] == "static_ip"
    no_password = base | {"password": None}
    response = await client.post("/api/v1/subscribers", json=no_password, headers=owner.headers)
    assert response.json()["detail"][0]["loc"][-1] == "password"


async def test_static_subscriber_and_duplicates(client: httpx.AsyncClient, owner: Staff) -> None:
    router = await make_router(client, owner)
    static = await make_package(client, owner, service="static")
    created = await make_subscriber(
        client,
        owner,
        router_id=router["id"],
        package_id=static["id"],
        service="static",
        username="shop-1",
        password=None,
        static_ip="10.20.0.5",
    )
    assert created["static_ip"] == "10.20.0.5"
    for override in (
        {"username": "shop-1", "static_ip": "10.20.0.6"},
        {"username": "shop-2", "static_ip": "10.20.0.5"},
    ):
        body = {"router_id": router["id"], "package_id": static["id"], "service": "static"}
        response = await client.post(
            "/api/v1/subscribers", json=body | override, headers=owner.headers
        )
        assert response.status_code == 409, response.text
        assert "already used on this router" in response.json()["detail"]
