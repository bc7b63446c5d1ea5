"""Product bugs the chaos run found, each reproduced on its own (both databases).

A test marked `xfail(strict=True)` would pin a bug whose fix is not applied yet: it
turns into a failure (XPASS) the day the fix lands, so the mark gets removed then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from mikrosync.clock import now
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from mikrosync.subscribers import service
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import SubscriberUpdate
from mikrosync.sync.context import SyncContext
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.sync.errors import PermanentError
from mikrosync.sync.expiry import expire_due
from tests.helpers import RouterSite, make_package, sync_deps
from tests.plugins.core import Staff

ROUTER_PASSWORD = "router-pw"


class Site(RouterSite):
    deps: SyncContext

    async def converge(self, subscriber_id: int, job: str = "addUser") -> Outcome:
        return await converge_subscriber(self.deps, subscriber_id, Attempt(job))


@pytest.fixture
async def site(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime, settings: Settings
) -> AsyncIterator[Site]:
    async with (
        sync_deps(runtime, settings, timeout_s=1.0) as deps,
        running_router(username="admin", password=ROUTER_PASSWORD) as sim,
    ):
        built: dict[str, Any] = await RouterSite.create(client, owner, sim, ROUTER_PASSWORD)
        site = Site(**built)
        site.deps = deps
        yield site


def online(sim: SimRouter, name: str) -> bool:
    return any(row["name"] == name for row in sim.rows("/ppp/active"))


async def test_deleting_a_subscriber_named_like_a_foreign_login_keeps_that_login_online(
    site: Site,
) -> None:
    """Chaos seeds 1 and 2: a subscriber created with the name of a login that is not
    mikrosync's goes to `error` (its converge refuses to touch the login: right). Deleting
    that subscriber then ends the foreign login's live session (wrong: DESIGN §1.6)."""
    site.sim.add_row("/ppp/secret", {"name": "shop", "password": "x", "service": "pppoe"})
    assert site.sim.dial_in("ppp", "shop")
    created = await site.subscriber(username="shop")
    with pytest.raises(PermanentError, match="not touching it"):
        await site.converge(created["id"])
    await site.call("DELETE", f"/subscribers/{created['id']}")
    assert await site.converge(created["id"], "removeUser") == Outcome.REMOVED
    [login] = site.rows("/ppp/secret", name="shop")
    assert "last-disconnect-reason" not in login
    assert online(site.sim, "shop")


async def test_deleting_a_subscriber_still_ends_its_own_session(site: Site) -> None:
    """The other side of the fix above: our own login's session does end on removal."""
    created = await site.subscriber(username="leaver")
    assert await site.converge(created["id"]) == Outcome.SUCCEEDED
    assert site.sim.dial_in("ppp", "leaver")
    await site.call("DELETE", f"/subscribers/{created['id']}")
    assert await site.converge(created["id"], "removeUser") == Outcome.REMOVED
    assert site.rows("/ppp/secret", name="leaver") == []
    assert not online(site.sim, "leaver")


async def _stale_update(
    site: Site, subscriber_id: int, data: SubscriberUpdate, meanwhile: Callable[[], Awaitable[Any]]
) -> None:
    """An API PATCH whose read of the row happens before `meanwhile` commits and whose write
    happens after it: the interleaving of two concurrent transactions, made deterministic."""
    tenant_id = site.owner.tenant_id
    assert tenant_id is not None
    async with site.deps.sessionmaker() as session:
        # The request reads the row (and holds it, as update_subscriber does: the session's
        # identity map keeps an object only while something refers to it)...
        read = await session.get(Subscriber, subscriber_id)
        await meanwhile()  # ...someone else commits...
        await service.update_subscriber(  # ...and the request writes what it read
            session,
            tenant_id=tenant_id,
            subscriber_id=subscriber_id,
            data=data,
            vault=site.deps.vault,
            actor="operator@isp.test",
        )
        assert read is not None


async def test_package_change_racing_the_previous_ones_promotion_is_not_lost(site: Site) -> None:
    """Chaos seed 1 (short profile, subscriber 'c1-80'): A -> B -> A. The API reads the row
    (package A, pending B), the worker finishes the A -> B converge and promotes B, then the
    API writes "pending := None" because A is the package it read. The router and the row end
    on B although the operator's last accepted choice was A."""
    first, second = site.packages["pppoe"], await make_package(site.client, site.owner)
    created = await site.subscriber(username="switcher")
    assert await site.converge(created["id"]) == Outcome.SUCCEEDED
    await site.call("PATCH", f"/subscribers/{created['id']}", json={"package_id": second["id"]})

    async def worker_applies_b() -> None:
        assert await site.converge(created["id"], "updateUserPackage") == Outcome.SUCCEEDED

    back = SubscriberUpdate(package_id=first["id"])
    await _stale_update(site, created["id"], back, worker_applies_b)
    row = await site.status(created["id"])
    assert (row["pending_package_id"] or row["package_id"]) == first["id"]
    await site.converge(created["id"], "updateUserPackage")
    row = await site.status(created["id"])
    assert row["package_id"] == first["id"] and row["sync_status"] == "synced"
    assert site.rows("/ppp/secret", name="switcher")[0]["profile"] == first["profile_name"]


async def test_change_racing_expiry_is_applied_and_not_stuck_pending(site: Site) -> None:
    created = await site.subscriber(username="racer", password="old-pw")
    assert await site.converge(created["id"]) == Outcome.SUCCEEDED
    tenant_id = site.owner.tenant_id
    assert tenant_id is not None

    async def expiry_and_its_converge() -> None:
        async with site.deps.sessionmaker() as session:
            await session.execute(
                update(Subscriber)
                .where(Subscriber.id == created["id"])
                .values(expires_at=now() - timedelta(seconds=1))
            )
            await session.commit()
        expired = [
            h.subscriber_id async for hints in expire_due(site.deps, tenant_id) for h in hints
        ]
        assert expired == [created["id"]]
        assert await site.converge(created["id"], "disconnectUser") == Outcome.SUCCEEDED

    await _stale_update(
        site, created["id"], SubscriberUpdate(password="new-pw"), expiry_and_its_converge
    )
    await site.converge(created["id"], "updateUser")
    row = await site.status(created["id"])
    assert row["sync_status"] == "synced", row
    assert row["synced_version"] == row["desired_version"]
    [secret] = site.rows("/ppp/secret", name="racer")
    assert secret["password"] == "new-pw"
