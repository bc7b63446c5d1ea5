"""create_subscribers_bulk: the checks of create_subscriber, one transaction, all or none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mikrosync.errors import Conflict, InvalidInput
from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import SubscriberCreate
from mikrosync.subscribers.service import (
    NewSubscriberChecks,
    create_subscriber,
    create_subscribers_bulk,
)
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import Staff


@pytest.fixture
async def ids(client: httpx.AsyncClient, owner: Staff) -> dict[str, int]:
    router = await make_router(client, owner)
    pppoe = await make_package(client, owner, service="pppoe")
    static = await make_package(client, owner, service="static")
    await make_subscriber(
        client, owner, router_id=router["id"], package_id=pppoe["id"], username="taken"
    )
    return {"router": router["id"], "pppoe": pppoe["id"], "static": static["id"]}


BAD: list[dict[str, Any]] = [
    {"username": "taken"},
    {"package": "static"},
    {"service": "hotspot"},
    {"password": None},
    {"static_ip": "10.0.0.9"},
    {"package_id": 999_999},
]


@pytest.mark.parametrize("change", BAD, ids=lambda change: ",".join(change))
async def test_bulk_refuses_what_create_subscriber_refuses_with_the_same_words(
    runtime: Runtime, owner: Staff, ids: dict[str, int], change: dict[str, Any]
) -> None:
    change = dict(change)  # the same dict serves both databases
    package = ids[change.pop("package", "pppoe")]
    base = {
        "router_id": ids["router"],
        "package_id": ids["pppoe"],
        "service": "pppoe",
        "username": "fine",
        "password": "Pw-newbie1",
    }
    good = SubscriberCreate(**base)
    data = SubscriberCreate(**(base | {"username": "newbie", "package_id": package} | change))
    tenant_id = owner.tenant_id or 0
    async with runtime.sessionmaker() as session:
        with pytest.raises((InvalidInput, Conflict)) as single:
            await create_subscriber(
                session, tenant_id=tenant_id, data=data, vault=runtime.vault, actor="t"
            )
    async with runtime.sessionmaker() as session:
        checks = await NewSubscriberChecks.load(
            session, tenant_id=tenant_id, router_id=ids["router"]
        )
        with pytest.raises(type(single.value)) as bulk:
            await create_subscribers_bulk(
                session, checks=checks, rows=[good, data], vault=runtime.vault, actor="t"
            )
        assert str(bulk.value) == str(single.value)
        count = select(func.count()).where(Subscriber.router_id == ids["router"])
        assert (await session.execute(count)).scalar_one() == 1  # only "taken": all or none
        assert "fine" not in checks.usernames
