"""Subscriber pages over ASGI: list, filters, live partials, detail, actions, bulk actions,
roles and tenancy. Writes go through the same services as the API (checked via the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber
from tests.helpers import make_package, make_router, make_subscriber, unique
from tests.plugins.web import WebTenant


async def _row(web: WebTenant, subscriber_id: int) -> dict[str, Any]:
    response = await web.api.get(f"/api/v1/subscribers/{subscriber_id}", headers=web.staff.headers)
    row: dict[str, Any] = response.json()
    return row


async def _events(web: WebTenant, subscriber_id: int) -> list[dict[str, Any]]:
    response = await web.api.get(
        f"/api/v1/subscribers/{subscriber_id}/events", headers=web.staff.headers
    )
    events: list[dict[str, Any]] = response.json()
    return events


async def _fail(runtime: Runtime, subscriber_id: int, message: str) -> None:
    """Put a row in `error` as a permanent router refusal would."""
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id)
            .values(sync_status="error", sync_error_message=message)
        )
        await session.commit()


async def test_list_shows_badges_error_words_and_offline_marker(
    web: WebTenant, runtime: Runtime
) -> None:
    router = await make_router(web.api, web.staff)
    ok = await make_subscriber(web.api, web.staff, router_id=router["id"])
    bad = await make_subscriber(web.api, web.staff, router_id=router["id"])
    await _fail(runtime, bad["id"], "failure: pool <exhausted>")
    page = await web.owner.get(f"/subscribers?router_id={router['id']}")
    assert page.status_code == 200 and "<html" in page.text
    assert f'id="sync-{ok["id"]}"' in page.text
    assert '<span class="badge badge-pending">Pending</span>' in page.text
    assert '<span class="sync-error">failure: pool &lt;exhausted&gt;</span>' in page.text
    assert "waiting for router" not in page.text

    async with runtime.sessionmaker() as session:
        from mikrosync.routers.models import Router

        await session.execute(
            update(Router).where(Router.id == router["id"]).values(is_online=False)
        )
        await session.commit()
    badges = await web.owner.get(
        f"/subscribers/badges?ids={ok['id']}&ids={bad['id']}&ids=999999",
        headers={"HX-Request": "true"},
    )
    assert badges.status_code == 200 and "<html" not in badges.text
    assert badges.text.count('hx-swap-oob="true"') == 3
    assert f"waiting for router {router['name']}" in badges.text  # the pending row waits
    assert badges.text.count("waiting for router") == 1  # the error row does not
    assert 'id="sync-999999" hx-swap-oob="true"><span class="badge badge-unknown">Removed' in (
        badges.text
    )


async def test_filters_search_and_pagination(web: WebTenant) -> None:
    router = await make_router(web.api, web.staff)
    package = await make_package(web.api, web.staff)
    tag = unique("zed")
    for n in range(3):
        await make_subscriber(
            web.api,
            web.staff,
            router_id=router["id"],
            package_id=package["id"],
            username=f"{tag}-{n}",
            full_name=f"Person {n}",
        )
    base = f"/subscribers?router_id={router['id']}&package_id={package['id']}"
    page = await web.owner.get(f"{base}&q={tag}&per_page=2")
    assert "3 subscribers, page 1 of 2" in page.text
    assert f"{tag}-0" in page.text and f"{tag}-2" not in page.text
    assert "page=2" in page.text
    second = await web.owner.get(f"{base}&q={tag}&per_page=2&page=2")
    assert f"{tag}-2" in second.text and f"{tag}-0" not in second.text
    none = await web.owner.get(f"{base}&sync_status=synced&is_suspended=true&expired=false")
    assert "No subscriber matches." in none.text
    # An htmx filter change gets the table alone; a bad filter value is said, not a crash.
    partial = await web.owner.get(f"{base}&q=person+1", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="results">')
    assert f"{tag}-1" in partial.text and f"{tag}-0" not in partial.text
    # The bulk forms come back to the list as filtered now, not as first loaded.
    back = f"{base}&q=person+1".replace("&", "&amp;")
    assert f'name="back" value="{back}" form="bulk"' in partial.text
    odd = await web.owner.get("/subscribers?page=zero")
    assert odd.status_code == 200 and "not understood" in odd.text


async def test_detail_shows_fields_pending_package_and_timeline(web: WebTenant) -> None:
    created = await make_subscriber(web.api, web.staff, full_name="Ann <b>Lee</b>", phone="555")
    faster = await make_package(web.api, web.staff, name=unique("Fiber"), rate_limit="50M/20M")
    response = await web.owner.post(
        f"/subscribers/{created['id']}/package", {"package_id": faster["id"]}
    )
    assert response.status_code == 303
    page = await web.owner.get(response.headers["location"])
    assert "Package change recorded" in page.text
    assert f"→ {faster['name']} (pending until the router has it)" in page.text
    assert "Ann &lt;b&gt;Lee&lt;/b&gt;" in page.text and "555" in page.text
    timeline = page.text[page.text.index("Sync timeline") :]
    assert timeline.index("updateUserPackage") < timeline.index("addUser")  # newest first
    live = await web.owner.get(f"/subscribers/{created['id']}", headers={"HX-Request": "true"})
    assert live.text.lstrip().startswith('<div id="live"') and "Sync timeline" in live.text
    assert "<html" not in live.text and "Change package" not in live.text
    hotspot = await make_package(web.api, web.staff, service="hotspot")
    refused = await web.owner.post(
        f"/subscribers/{created['id']}/package", {"package_id": hotspot["id"]}
    )
    page = await web.owner.get(refused.headers["location"])
    assert "Package not changed: package" in page.text and "not pppoe" in page.text


async def test_actions_record_intent_like_the_api(web: WebTenant, runtime: Runtime) -> None:
    created = await make_subscriber(web.api, web.staff)
    url = f"/subscribers/{created['id']}"
    for action in ("suspend", "connect", "renew"):
        response = await web.operator.post(f"{url}/{action}")
        assert response.status_code == 303 and response.headers["location"] == url
    await _fail(runtime, created["id"], "failure: simulated")
    assert (await web.operator.post(f"{url}/retry")).status_code == 303
    events = await _events(web, created["id"])
    operations = [e["operation"] for e in events if e["outcome"] == "requested"]
    assert operations == ["retry", "connectUser", "connectUser", "disconnectUser", "addUser"]
    assert events[0]["actor"] == web.operator.staff.email
    assert events[0]["message"] == "retry after: failure: simulated"
    row = await _row(web, created["id"])
    assert row["sync_status"] == "pending" and row["desired_version"] == 5
    deleted = await web.operator.post(f"{url}/delete")
    # The list filtered to the row being removed (issue 17, item 17).
    assert deleted.headers["location"].startswith("/subscribers?q=")
    assert (await _row(web, created["id"]))["pending_removal"] is True
    refused = await web.operator.post(f"{url}/suspend")
    assert refused.status_code == 303  # a Conflict is said on the page, nothing changes
    page = await web.operator.get(url)
    assert "is being removed from its router" in page.text
    assert (await _row(web, created["id"]))["is_suspended"] is False


async def test_bulk_suspend_connect_and_retry_failed_on_a_router(
    web: WebTenant, runtime: Runtime
) -> None:
    router = await make_router(web.api, web.staff)
    rows = [await make_subscriber(web.api, web.staff, router_id=router["id"]) for _ in range(3)]
    foreign = await make_subscriber(web.api, web.stranger.staff)
    ids = [row["id"] for row in rows]
    back = f"/subscribers?router_id={router['id']}"
    response = await web.operator.http.post(
        "/subscribers/bulk",
        data={
            "csrf_token": web.operator.csrf,
            "action": "suspend",
            "ids": [*ids[:2], foreign["id"]],
            "back": back,
        },
    )
    assert response.status_code == 303 and response.headers["location"] == back
    page = await web.operator.get(back)
    assert (
        f"2 subscriber(s): suspend recorded. 1 refused:\n#{foreign['id']}: subscriber not found"
        in (page.text)
    )
    assert [(await _row(web, i))["is_suspended"] for i in ids] == [True, True, False]
    foreign_row = await web.api.get(
        f"/api/v1/subscribers/{foreign['id']}", headers=web.stranger.staff.headers
    )
    assert foreign_row.json()["is_suspended"] is False
    await web.operator.http.post(
        "/subscribers/bulk",
        data={"csrf_token": web.operator.csrf, "action": "connect", "ids": ids[:1]},
    )
    assert (await _row(web, ids[0]))["is_suspended"] is False

    for subscriber_id in ids[1:]:
        await _fail(runtime, subscriber_id, "failure: bad profile")
    other = await make_subscriber(web.api, web.staff)
    await _fail(runtime, other["id"], "failure: elsewhere")
    retried = await web.operator.post(
        "/subscribers/retry", {"router_id": str(router["id"]), "back": back}
    )
    page = await web.operator.get(retried.headers["location"])
    assert f"2 failed subscriber(s) retried on router {router['name']}." in page.text
    assert [(await _row(web, i))["sync_status"] for i in ids[1:]] == ["pending", "pending"]
    assert (await _row(web, other["id"]))["sync_status"] == "error"  # another router's


async def test_viewer_sees_no_write_controls_and_is_refused_writes(web: WebTenant) -> None:
    created = await make_subscriber(web.api, web.staff)
    url = f"/subscribers/{created['id']}"
    for path in ("/subscribers", url, "/routers", f"/routers/{created['router_id']}", "/packages"):
        page = await web.viewer.get(path)
        assert page.status_code == 200, path
        body = page.text[page.text.index("<main") :]
        assert 'method="post"' not in body, path
        assert "New subscriber" not in body and "/edit" not in body, path
    for path in (f"{url}/suspend", f"{url}/delete", f"{url}/retry", "/subscribers/retry"):
        refused = await web.viewer.post(path)
        assert refused.status_code == 403, path
        assert "needs the operator role" in refused.text
    for path in ("/subscribers/new", f"{url}/edit", "/routers/new", "/packages/new"):
        assert (await web.viewer.get(path)).status_code == 403, path
    assert (await web.viewer.get("/settings")).status_code == 403
    row = await _row(web, created["id"])
    assert row["is_suspended"] is False and row["pending_removal"] is False
    # An operator manages subscribers but not routers or packages.
    assert (await web.operator.get("/routers/new")).status_code == 403
    assert (await web.operator.post(f"/routers/{created['router_id']}/delete")).status_code == 403


async def test_another_tenants_ids_answer_404(web: WebTenant) -> None:
    created = await make_subscriber(web.api, web.staff)
    url = f"/subscribers/{created['id']}"
    stranger = web.stranger
    assert (await stranger.get(url)).status_code == 404
    poll = await stranger.get(url, headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "subscriber not found" in poll.text  # htmx stops polling
    assert (await stranger.get(f"{url}/edit")).status_code == 404
    for action in ("suspend", "delete", "retry", "package", "edit"):
        assert (await stranger.post(f"{url}/{action}")).status_code == 404, action
    assert (await stranger.get(f"/routers/{created['router_id']}")).status_code == 404
    assert (await stranger.post(f"/routers/{created['router_id']}/test")).status_code == 404
    assert (await stranger.get(f"/packages/{created['package_id']}/edit")).status_code == 404
    badges = await stranger.get(f"/subscribers/badges?ids={created['id']}")
    assert "Removed" in badges.text and "Pending" not in badges.text
    listing = await stranger.get(f"/subscribers?q={created['username']}")
    assert "No subscriber matches." in listing.text
    assert (await _row(web, created["id"]))["sync_status"] == "pending"


async def test_ids_past_the_database_range_are_refused_not_a_server_error(
    web: WebTenant,
) -> None:
    """Ids past PostgreSQL's INTEGER range never reach the driver (as in the API)."""
    huge = 2**31
    answers = {
        url: (await web.owner.get(url)).status_code
        for url in (
            f"/subscribers/{huge}",
            f"/subscribers/{huge}/edit",
            f"/routers/{huge}",
            f"/routers/{2**63}",
            f"/routers/1/runs/{huge}",
            f"/packages/{huge}/edit",
        )
    }
    answers["POST /subscribers/retry"] = (
        await web.operator.post("/subscribers/retry", data={"router_id": str(huge)})
    ).status_code
    assert set(answers.values()) <= {404, 422}, answers
