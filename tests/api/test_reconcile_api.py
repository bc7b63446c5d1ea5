"""POST /routers/{id}/reconcile and the stored runs, against the simulator, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mikrosync.jobs.producer import JobQueue
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator.testing import running_router
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.tenants.models import Role
from tests.helpers import RouterSite, make_router
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, Staff, TenantFactory

ROUTER_PASSWORD = "router-pw"


@pytest.fixture
async def site(client: httpx.AsyncClient, owner: Staff) -> AsyncIterator[RouterSite]:
    async with running_router(username="admin", password=ROUTER_PASSWORD) as sim:
        yield RouterSite(**await RouterSite.create(client, owner, sim, ROUTER_PASSWORD))


@pytest.fixture
async def drifted(site: RouterSite, runtime: Runtime, settings: Settings) -> dict[str, Any]:
    """One synced subscriber moved to another profile by hand, an orphan, an unmanaged login."""
    created = await site.subscriber(username="alice")
    async with runtime.private_routers(settings=settings) as deps:
        outcome = await converge_subscriber(deps, created["id"], Attempt("addUser"))
    assert outcome == Outcome.SUCCEEDED
    [secret] = site.rows("/ppp/secret", name="alice")
    site.sim.store.table("/ppp/secret").update([secret[".id"]], {"profile": "default"})
    tag = f"mikrosync:t={site.owner.tenant_id}:s=999999"
    site.sim.add_row("/ppp/secret", {"name": "ghost", "comment": tag})
    site.sim.add_row("/ppp/secret", {"name": "walk-in", "comment": "cash customer"})
    return created


def _url(site: RouterSite, suffix: str = "/reconcile") -> str:
    return f"/api/v1/routers/{site.router['id']}{suffix}"


async def test_dry_run_reports_and_changes_nothing(
    site: RouterSite, drifted: dict[str, Any]
) -> None:
    response = await site.client.post(
        _url(site), params={"dry_run": "true"}, headers=site.owner.headers
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["dry_run"] is True and run["status"] == "succeeded"
    assert run["counts"] == {
        "missing": 0,
        "different": 1,
        "orphan": 1,
        "unmanaged": 1,
        "profile_drift": 0,
    }
    assert run["items"]["different"][0]["name"] == "alice"
    assert run["items"]["unmanaged"][0]["detail"] == "not mikrosync's (comment 'cash customer')"
    assert run["actions"] == [] and run["duration_s"] is not None
    assert site.rows("/ppp/secret", name="ghost")
    assert (await site.status(drifted["id"]))["desired_version"] == 1


async def test_reconcile_repairs_and_pushes_the_fix(
    site: RouterSite, drifted: dict[str, Any], settings: Settings
) -> None:
    response = await site.client.post(_url(site), headers=site.owner.headers)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["dry_run"] is False and run["counts"]["different"] == 1
    assert {(a["name"], a["result"]) for a in run["actions"]} == {
        ("ghost", "removed"),
        ("alice", "queued"),
    }
    assert site.rows("/ppp/secret", name="ghost") == []
    row = await site.status(drifted["id"])
    assert row["sync_status"] == "pending" and row["desired_version"] == 2
    queue = JobQueue(
        settings.redis_url or "", prefix=settings.queue_prefix, timeout_s=TEST_PUSH_TIMEOUT_S
    )
    try:
        waiting = await queue._call("getWaiting", 0, -1)
    finally:
        await queue.close()
    assert any(job.data == {"subscriber_id": drifted["id"]} for job in waiting)
    router = (await site.client.get(_url(site, ""), headers=site.owner.headers)).json()
    assert router["last_drift_counts"] == run["counts"] and router["last_reconciled_at"]


async def test_tenant_policy_set_through_the_api_is_followed(
    site: RouterSite, drifted: dict[str, Any]
) -> None:
    patched = await site.client.patch(
        "/api/v1/tenant/settings",
        json={"reconcile_policy": {"orphan": "report", "different": "report"}},
        headers=site.owner.headers,
    )
    assert patched.status_code == 200, patched.text
    run = (await site.client.post(_url(site), headers=site.owner.headers)).json()
    assert run["actions"] == [] and run["counts"]["orphan"] == 1
    assert site.rows("/ppp/secret", name="ghost")
    assert (await site.status(drifted["id"]))["desired_version"] == 1


async def test_runs_are_listed_newest_first_and_read_one_by_one(site: RouterSite) -> None:
    ids = []
    for dry_run in ("true", "false", "true"):
        response = await site.client.post(
            _url(site), params={"dry_run": dry_run}, headers=site.owner.headers
        )
        ids.append(response.json()["id"])
    page = await site.client.get(
        _url(site, "/reconcile-runs"), params={"per_page": 2}, headers=site.owner.headers
    )
    assert page.status_code == 200
    body = page.json()
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 2
    assert [run["id"] for run in body["items"]] == [ids[2], ids[1]]
    assert "items" not in body["items"][0] and "counts" in body["items"][0]
    second = await site.client.get(
        _url(site, "/reconcile-runs"), params={"page": 2, "per_page": 2}, headers=site.owner.headers
    )
    assert [run["id"] for run in second.json()["items"]] == [ids[0]]
    one = await site.client.get(_url(site, f"/reconcile-runs/{ids[1]}"), headers=site.owner.headers)
    assert one.status_code == 200 and one.json()["dry_run"] is False
    assert set(one.json()["items"]) == {
        "missing",
        "different",
        "orphan",
        "unmanaged",
        "profile_drift",
    }


async def test_unreachable_router_answers_200_with_the_failed_run(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """The request succeeded; the run's status is the router's answer (fuzz bug 2: this was
    a 502, which the OpenAPI does not describe and no proxy should see as ours)."""
    router = await make_router(client, owner, host="127.0.0.1", port=1)
    response = await client.post(f"/api/v1/routers/{router['id']}/reconcile", headers=owner.headers)
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "failed" and router["name"] in run["error"]
    fresh = (await client.get(f"/api/v1/routers/{router['id']}", headers=owner.headers)).json()
    assert fresh["is_online"] is False and fresh["last_error"]


async def test_other_tenants_get_404_and_weaker_roles_403(
    site: RouterSite, factory: TenantFactory
) -> None:
    run = (
        await site.client.post(_url(site), params={"dry_run": "true"}, headers=site.owner.headers)
    ).json()
    intruder = await factory.staff(await factory.tenant())
    other_router = await make_router(site.client, intruder)
    for method, url in [
        ("POST", _url(site)),
        ("GET", _url(site, "/reconcile-runs")),
        ("GET", _url(site, f"/reconcile-runs/{run['id']}")),
        ("GET", f"/api/v1/routers/{other_router['id']}/reconcile-runs/{run['id']}"),
    ]:
        response = await site.client.request(method, url, headers=intruder.headers)
        assert response.status_code == 404, (method, url, response.text)
    for role in (Role.VIEWER, Role.OPERATOR):
        staff = await factory.staff(site.owner.tenant_id, role)
        refused = await site.client.post(_url(site), headers=staff.headers)
        assert refused.status_code == 403, role
        listed = await site.client.get(_url(site, "/reconcile-runs"), headers=staff.headers)
        assert listed.status_code == 200 and listed.json()["total"] == 1
    admin = await factory.staff(site.owner.tenant_id, Role.ADMIN)
    allowed = await site.client.post(_url(site), params={"dry_run": "true"}, headers=admin.headers)
    assert allowed.status_code == 200
