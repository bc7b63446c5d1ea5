"""Dashboard, routers, packages and settings pages over ASGI."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import update

from mikrosync.app import create_app
from mikrosync.clock import now
from mikrosync.routeros.tags import OwnerTag
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator.testing import running_router
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.reconcile_runs.models import ReconcileRun
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import TenantFactory
from tests.plugins.web import WebLogin, WebTenant


async def test_dashboard_counts_states_routers_queue_owed_and_drift(
    factory: TenantFactory, web_login: WebLogin, runtime: Runtime
) -> None:
    owner = await factory.staff(await factory.tenant())
    router = await make_router(factory.client, owner, name="core-a")
    rows = [await make_subscriber(factory.client, owner, router_id=router["id"]) for _ in range(3)]
    await factory.client.post(f"/api/v1/subscribers/{rows[0]['id']}/suspend", headers=owner.headers)
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(Subscriber).where(Subscriber.id == rows[1]["id"]).values(sync_status="error")
        )
        await session.execute(
            update(Router)
            .where(Router.id == router["id"])
            .values(
                is_online=False,
                last_error="connection refused",
                last_drift_counts={"missing": 2, "orphan": 0},
            )
        )
        # The dashboard shows what the newest run left (here: a real run that repaired none).
        found = await session.get(Router, router["id"])
        assert found is not None
        session.add(
            ReconcileRun(
                tenant_id=found.tenant_id,
                router_id=found.id,
                started_at=now(),
                finished_at=now(),
                dry_run=False,
                status="succeeded",
                counts={"missing": 2, "orphan": 0},
                items={},
                actions=[],
            )
        )
        await session.commit()
    web = await web_login(owner)
    page = await web.get("/")
    assert page.status_code == 200
    assert '<b id="count-pending">2</b>' in page.text and '<b id="count-error">1</b>' in page.text
    assert '<p class="big warn" id="owed">1</p>' in page.text
    assert '<b id="routers-offline">1</b>' in page.text
    assert "core-a</a>: connection refused" in page.text
    assert '<span class="chip">missing: 2</span>' in page.text and "orphan" not in page.text
    assert 'id="queue-depth"' in page.text  # the machine's Redis answers
    poll = await web.get("/", headers={"HX-Request": "true"})
    assert poll.text.lstrip().startswith('<div id="stats"') and "<html" not in poll.text


async def test_dashboard_tolerates_redis_down(settings: Settings, web: WebTenant) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(down)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        http.cookies = web.viewer.http.cookies
        page = await http.get("/")
        assert page.status_code == 200 and "Queue unavailable" in page.text
        # A write still succeeds: the row is the outbox, the sweeper pushes later.
        http.cookies = web.operator.http.cookies
        created = await make_subscriber(web.api, web.staff)
        response = await http.post(
            f"/subscribers/{created['id']}/suspend", data={"csrf_token": web.operator.csrf}
        )
        assert response.status_code == 303
    await app.state.runtime.close()


async def test_router_pages_and_test_connection(web: WebTenant) -> None:
    async with running_router(username="admin", password="router-pw") as sim:
        router = await make_router(
            web.api, web.staff, host=sim.host, port=sim.port, password="router-pw"
        )
        url = f"/routers/{router['id']}"
        page = await web.operator.get(url)
        assert "Not checked yet" in page.text and "Test connection" in page.text
        assert f'href="{url}/edit"' not in page.text  # editing routers is for admins
        tested = await web.operator.post(f"{url}/test")
        assert tested.status_code == 303
        page = await web.operator.get(url)
        assert f"{router['name']} answered." in page.text
        assert '<span class="badge badge-online">Online</span>' in page.text
        assert "MikroTik" in page.text  # identity as the router reports it
        await sim.go_down()
        await web.operator.post(f"{url}/test")
        page = await web.operator.get(url)
        assert f"{router['name']} did not answer" in page.text
        assert '<span class="badge badge-offline">Offline</span>' in page.text
    listing = await web.viewer.get("/routers")
    assert router["name"] in listing.text and "Add router" not in listing.text
    partial = await web.viewer.get("/routers", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="router-table"')


async def test_delete_router_and_package_in_use_is_refused_with_the_reason(
    web: WebTenant,
) -> None:
    created = await make_subscriber(web.api, web.staff)
    refused = await web.owner.post(f"/routers/{created['router_id']}/delete")
    assert refused.status_code == 303
    page = await web.owner.get(refused.headers["location"])
    assert "still has 1 subscriber(s)" in page.text
    refused = await web.owner.post(f"/packages/{created['package_id']}/delete")
    page = await web.owner.get(refused.headers["location"])
    assert "is used by 1 subscriber(s)" in page.text
    spare = await make_package(web.api, web.staff)
    await web.owner.post(f"/packages/{spare['id']}/delete")
    assert spare["name"] not in (await web.owner.get("/packages")).text


async def test_settings_time_zone_changes_how_dates_show(web: WebTenant) -> None:
    created = await make_subscriber(web.api, web.staff, expires_at="2031-01-15T12:00:00+00:00")
    url = f"/subscribers/{created['id']}"
    assert "2031-01-15 12:00" in (await web.owner.get(url)).text
    bad = await web.owner.post("/settings", {"timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and "is not an IANA time zone" in bad.text
    try:
        assert (
            await web.owner.post("/settings", {"timezone": "Africa/Nairobi"})
        ).status_code == 303
        page = await web.viewer.get(url)
        assert "2031-01-15 15:00" in page.text
        assert "Times are shown in Africa/Nairobi." in page.text
        edit = await web.operator.get(f"{url}/edit")
        assert 'value="2031-01-15T15:00"' in edit.text
    finally:
        # The tenant is shared by this backend's fast tests, which expect UTC.
        await web.owner.post("/settings", {"timezone": "UTC"})
    assert (await web.operator.get("/settings")).status_code == 403


async def test_reconcile_dry_run_report_by_kind_then_repair(web: WebTenant) -> None:
    async with running_router(username="admin", password="router-pw") as sim:
        router = await make_router(
            web.api, web.staff, host=sim.host, port=sim.port, password="router-pw"
        )
        orphan_tag = OwnerTag.subscriber(web.staff.tenant_id, 987654).render()
        sim.add_row("/ppp/secret", {"name": "ghost", "password": "x", "comment": orphan_tag})
        sim.add_row("/ppp/secret", {"name": "handmade", "password": "x"})
        url = f"/routers/{router['id']}"
        page = await web.operator.get(url)
        assert "Test connection" in page.text and 'name="dry_run"' not in page.text
        # Admins reconcile, as in the API; a dry run (the box is ticked by default) only reports.
        refused = await web.operator.post(f"{url}/reconcile", {"dry_run": "on"})
        assert refused.status_code == 403
        assert 'name="dry_run" checked' in (await web.owner.get(url)).text
        dry = await web.owner.post(f"{url}/reconcile", {"dry_run": "on"})
        assert dry.status_code == 303 and "/runs/" in dry.headers["location"]
        report = await web.owner.get(dry.headers["location"])
        assert "Dry run of " + router["name"] + " done: 2 difference(s) found." in report.text
        assert '<dd id="run-mode">dry run (report only)</dd>' in report.text
        for kind, count in (("orphan", 1), ("unmanaged", 1), ("missing", 0)):
            assert re.search(rf'id="count-{kind}">.*?<td>{count}</td>', report.text), kind
        assert "<td>ghost</td>" in report.text and "<td>handmade</td>" in report.text
        assert len(sim.rows("/ppp/secret")) == 2  # a dry run changes nothing

        fixed = await web.owner.post(f"{url}/reconcile")
        report = await web.owner.get(fixed.headers["location"])
        assert '<dd id="run-mode">repair per policy</dd>' in report.text
        assert "Actions taken" in report.text
        assert [row["name"] for row in sim.rows("/ppp/secret")] == ["handmade"]
        detail = await web.viewer.get(url)
        assert detail.text.count("/runs/") == 2 and "Reconcile now" not in detail.text
    board = await web.owner.get("/")
    # The real run repaired the orphan (unmanaged is never ours to fix): no drift left shows.
    assert f'id="drift-{router["id"]}"' not in board.text and "orphan: 1" not in board.text
    assert (await web.stranger.get(fixed.headers["location"])).status_code == 404
