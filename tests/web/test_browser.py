"""The operator console in a real browser: headless Chromium (Debian's, driven by Playwright)
against a real `mikrosync serve` process, a real `mikrosync worker` process, the machine's
Redis and a simulated router over TCP. No page is reloaded to see a state change: each test
marks the document and checks the mark survived.

They run on SQLite, the embedded default a new user starts with (the fast tests of the same
pages run on both databases); MIKROSYNC_BROWSER_BACKENDS=sqlite,postgresql runs them on both.
Every test saves screenshots under build/screenshots/. With MIKROSYNC_UPDATE_DOCS=1 the list
test also rewrites docs/screenshot-subscribers.png (the README's picture).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from mikrosync.settings import Settings
from tests.helpers import unique
from tests.plugins.e2e import Site, WorkerProcess, eventually
from tests.plugins.web import UI, fill_new_subscriber, paused

BACKENDS = os.environ.get("MIKROSYNC_BROWSER_BACKENDS", "sqlite").split(",")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("e2e_settings", BACKENDS, indirect=True, scope="module"),
]

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-subscribers.png"
RED = "rgb(185, 28, 28)"


async def mark_document(page: Page) -> None:
    await page.evaluate("window.__noReload = true")


async def assert_not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.__noReload === true"), "the page was reloaded"


async def csrf_token(page: Page) -> str:
    headers = await page.get_attribute("body", "hx-headers")
    assert headers
    token: str = json.loads(headers)["X-CSRF-Token"]
    return token


async def test_new_subscriber_goes_from_pending_to_synced_without_reload(
    ui: UI, site: Site, worker: WorkerProcess, e2e_settings: Settings
) -> None:
    page = ui.page
    await ui.login(site.owner.email)
    await fill_new_subscriber(ui, site, "alice", full_name="Alice Doe")
    await ui.shot("form")
    badge = page.locator("#live .sync .badge")
    async with paused(e2e_settings):
        await page.get_by_role("button", name="Create subscriber").click()
        await expect(page.locator(".flash")).to_contain_text("Subscriber alice created")
        await expect(badge).to_have_text("Pending")
        await mark_document(page)
        await ui.shot("pending")
    await expect(badge).to_have_text("Synced")
    await expect(page.locator("#live table.timeline tbody tr").first).to_contain_text("succeeded")
    await assert_not_reloaded(page)
    await ui.shot("synced")
    [secret] = site.rows("/ppp/secret", name="alice")
    assert secret["profile"] == site.packages["pppoe"]["profile_name"]


async def test_router_refusal_shows_in_red_and_retry_syncs(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    page = owner_ui.page
    # Twice: a converge that used a remembered profile checks it and tries once more after a
    # refusal; the trap left over (when the profile was checked first) is cleared below.
    site.sim.trap_next(path="/ppp/secret/add", n=2, message="failure: pool exhausted", category=1)
    await fill_new_subscriber(owner_ui, site, "unlucky")
    await page.get_by_role("button", name="Create subscriber").click()
    # The form is sent by htmx, which then loads the new subscriber's page: mark that page.
    await expect(page.locator(".flash")).to_contain_text("Subscriber unlucky created")
    await mark_document(page)
    badge = page.locator("#live .sync .badge")
    await expect(badge).to_have_text("Error")
    site.sim.clear_faults()
    words = page.locator("#live .sync-error")
    await expect(words).to_have_text("failure: pool exhausted")
    assert await words.evaluate("e => getComputedStyle(e).color") == RED
    assert await badge.get_attribute("title") == "failure: pool exhausted"
    await assert_not_reloaded(page)
    await owner_ui.shot("error")

    await page.get_by_role("button", name="Retry").click()
    await expect(page.locator(".flash")).to_contain_text("Retrying unlucky")
    await mark_document(page)
    await expect(badge).to_have_text("Synced")
    await expect(page.locator("#live .sync-error")).to_have_count(0)
    timeline = page.locator("#live table.timeline")
    await expect(timeline).to_contain_text("retry after: failure: pool exhausted")
    await expect(timeline.locator("tr.outcome-failed")).to_contain_text("failure: pool exhausted")
    await assert_not_reloaded(page)
    await owner_ui.shot("retried")
    assert site.rows("/ppp/secret", name="unlucky")


async def test_suspend_updates_badge_and_timeline(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="bob")
    await site.synced(created["id"])
    assert site.sim.dial_in("ppp", "bob")
    page = owner_ui.page
    await page.goto(f"/subscribers/{created['id']}")
    await expect(page.locator("#suspended")).to_have_text("no")
    # The confirmation dialog (it cuts service) is accepted, see `_tab`.
    await page.get_by_role("button", name="Suspend").click()
    await expect(page.locator(".flash")).to_contain_text("Suspension of bob recorded")
    await mark_document(page)
    await expect(page.locator("#suspended")).to_have_text("yes (manual)")
    newest = page.locator("#live table.timeline tbody tr").first
    await expect(newest).to_contain_text("disconnectUser")
    await expect(newest).to_contain_text("succeeded")
    await expect(page.locator("#live .sync .badge")).to_have_text("Synced")
    await assert_not_reloaded(page)
    await owner_ui.shot("suspended")
    assert site.rows("/ppp/secret", name="bob")[0]["disabled"] == "true"
    assert site.rows("/ppp/active", name="bob") == []
    await expect(page.get_by_role("button", name="Connect", exact=True)).to_be_visible()


async def test_viewer_sees_no_write_controls_and_forged_post_is_refused(
    ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="carol")
    email = f"{unique('viewer')}@isp.test"
    await site.call(
        "POST", "/users", json={"email": email, "password": "Viewer-pass-1", "role": "viewer"}
    )
    page = ui.page
    await ui.login(email, "Viewer-pass-1")
    for path in ("/subscribers", f"/subscribers/{created['id']}", "/routers", "/packages"):
        await page.goto(path)
        main = page.locator("main")
        await expect(main.locator("h1")).to_be_visible()
        await expect(main.locator("form[method=post]")).to_have_count(0)
        await expect(main.locator("button")).to_have_count(0 if path != "/subscribers" else 1)
        await expect(main.locator("input[type=checkbox]")).to_have_count(0)
        await ui.shot(path.strip("/").replace("/", "-"))
    await page.goto(f"/routers/{site.router['id']}")
    await expect(page.get_by_role("button", name="Test connection")).to_have_count(0)

    # A forged POST with a valid session and token is refused by the server all the same.
    response = await page.request.post(
        f"/subscribers/{created['id']}/suspend",
        form={"csrf_token": await csrf_token(page)},
        max_redirects=0,
    )
    assert response.status == 403
    assert "needs the operator role" in await response.text()
    assert (await site.status(created["id"]))["is_suspended"] is False


async def test_form_keeps_input_and_shows_field_errors(
    owner_ui: UI, site: Site, worker: WorkerProcess, e2e_settings: Settings
) -> None:
    page = owner_ui.page
    await fill_new_subscriber(
        owner_ui, site, "has space", remote_address="10.0.0.300", full_name="Dora Explorer"
    )
    await page.get_by_role("button", name="Create subscriber").click()
    await expect(page.locator("#err-username")).to_contain_text("without spaces")
    await expect(page.locator("#err-remote_address")).to_contain_text("is not an IPv4 address")
    await expect(page.locator("#f-username")).to_have_value("has space")
    await expect(page.locator("#f-remote_address")).to_have_value("10.0.0.300")
    await expect(page.locator("#f-full_name")).to_have_value("Dora Explorer")
    await expect(page.locator("#f-router_id")).to_have_value(str(site.router["id"]))
    await expect(page.locator("#f-username")).to_have_attribute("aria-invalid", "true")
    await owner_ui.shot("errors")
    await page.fill("#f-username", "dora")
    await page.fill("#f-remote_address", "")
    await page.fill("#f-password", "dora-pw")
    await page.get_by_role("button", name="Create subscriber").click()
    await expect(page.locator("#live .sync .badge")).to_have_text("Synced")
    await owner_ui.shot("created")
    dora = page.url.rsplit("/", 1)[1]
    # Held until the list is seen: a fast worker could remove the row before it loads.
    async with paused(e2e_settings):
        await page.get_by_role("button", name="Delete").click()  # asks first; accepted
        await expect(page.locator(".flash")).to_contain_text("dora is being removed")
        await expect(page.locator(f"#row-{dora}")).to_contain_text("being removed")
        await mark_document(page)
    await expect(page.locator(f"#sync-{dora} .badge")).to_have_text("Removed")
    await assert_not_reloaded(page)
    assert site.rows("/ppp/secret", name="dora") == []


async def test_post_without_csrf_token_is_refused(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="erin")
    page = owner_ui.page
    await page.goto(f"/subscribers/{created['id']}")
    url = f"/subscribers/{created['id']}/suspend"
    refused = await page.request.post(url, form={}, max_redirects=0)
    assert refused.status == 403 and "security token" in await refused.text()
    forged = await page.request.post(url, form={"csrf_token": "x" * 43}, max_redirects=0)
    assert forged.status == 403
    assert (await site.status(created["id"]))["is_suspended"] is False
    accepted = await page.request.post(
        url, form={"csrf_token": await csrf_token(page)}, max_redirects=0
    )
    assert accepted.status == 303
    assert (await site.status(created["id"]))["is_suspended"] is True


async def test_list_at_a_glance_live_offline_marker_and_narrow_screen(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    synced = [await site.subscriber(username=name) for name in ("alice", "bob")]
    for row in synced:
        await site.synced(row["id"])
    # Twice: a converge that used a remembered profile checks it and tries once more after a
    # refusal; the trap left over (when the profile was checked first) is cleared below.
    site.sim.trap_next(path="/ppp/secret/add", n=2, message="failure: invalid profile", category=1)
    failed = await site.subscriber(username="dave")

    async def refused() -> bool:
        return (await site.status(failed["id"]))["sync_status"] == "error"

    await eventually(refused, what="dave refused by the router")
    site.sim.clear_faults()
    await site.sim.go_down()
    waiting = await site.subscriber(username="carol", full_name="Carol Waits")

    page = owner_ui.page
    await page.goto(f"/subscribers?router_id={site.router['id']}")
    await mark_document(page)
    router = site.router["name"]
    carol = page.locator(f"#sync-{waiting['id']}")
    await expect(carol).to_contain_text(f"waiting for router {router}")
    await expect(carol.locator(".badge")).to_have_text("Pending")
    await expect(page.locator(f"#sync-{failed['id']} .sync-error")).to_have_text(
        "failure: invalid profile"
    )
    # Select two rows for a bulk suspension, as in the README picture.
    await page.locator(f"input[name=ids][value='{synced[1]['id']}']").check()
    shot = await owner_ui.shot("list")
    if os.environ.get("MIKROSYNC_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    await site.sim.come_up()
    await expect(carol.locator(".badge")).to_have_text("Synced")
    await expect(carol).not_to_contain_text("waiting for router")
    await assert_not_reloaded(page)
    await owner_ui.shot("router-back")

    await page.get_by_role("button", name="Suspend selected").click()
    await expect(page.locator(".flash")).to_contain_text("1 subscriber(s): suspend recorded")
    await expect(page.locator(f"#row-{synced[1]['id']}")).to_contain_text("suspended")
    await expect(page.locator(f"#sync-{synced[1]['id']} .badge")).to_have_text("Synced")

    await page.set_viewport_size({"width": 375, "height": 812})
    await page.goto("/subscribers")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide at 375px"
    await expect(page.locator(f"#sync-{failed['id']} .badge")).to_be_visible()
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "mikrosync"
    await owner_ui.shot("narrow")
