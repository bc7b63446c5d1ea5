"""The console on a phone (390 px), its accessibility (axe-core in the browser: no serious or
critical violation on the main pages), its charts, and the pictures of docs/web-ui.md.

axe-core is vendored for the tests only (tests/web/vendor/axe.min.js, MPL-2.0) and injected
with Playwright's add_script_tag. The console's CSP (script-src 'self') refuses an injected
script, as it should, so the axe pass runs in a tab that bypasses CSP; every other browser
test runs under the CSP and fails on any refusal.

MIKROSYNC_UPDATE_DOCS=1 copies the documentation pictures into docs/web-ui/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers import unique
from tests.plugins.e2e import Site, WorkerProcess
from tests.plugins.web import UI, ServerProcess

BACKENDS = os.environ.get("MIKROSYNC_BROWSER_BACKENDS", "sqlite").split(",")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("e2e_settings", BACKENDS, indirect=True, scope="module"),
]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "web-ui"
PHONE = {"width": 390, "height": 844}


async def _pages(site: Site) -> list[str]:
    created = await site.subscriber(username=unique("page"), full_name="Page Person")
    return [
        "/",
        "/subscribers",
        f"/subscribers/{created['id']}",
        f"/subscribers/{created['id']}/edit",
        "/subscribers/new",
        "/routers",
        f"/routers/{site.router['id']}",
        "/packages",
        "/charts",
        "/jobs",
        "/audit",
        "/staff",
        "/import",
        "/settings",
        "/settings/payments",
        "/settings/messages",
    ]


async def test_every_page_is_usable_at_390px(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    page = owner_ui.page
    await page.set_viewport_size(PHONE)
    for path in await _pages(site):
        await page.goto(path)
        await expect(page.locator("main h1")).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide at 390px"
        # Every button and link in the main area can be reached without sideways scrolling.
        outside = await page.evaluate(
            """() => [...document.querySelectorAll('main button, main a, main input, main select')]
              .filter(e => e.offsetParent !== null && !e.closest('.table-wrap'))
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
              .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert outside == [], f"{path}: controls past the screen's edge: {outside}"
    await page.goto("/subscribers")
    await owner_ui.shot("phone-list")


@pytest.fixture
async def axe_tab(browser: Browser, server: ServerProcess, owner_state: Any) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900},
        base_url=server.url,
        storage_state=owner_state,
        bypass_csp=True,
    )
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield page
    finally:
        await context.close()


async def _violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const found = await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
          });
          return found.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return result


async def test_main_pages_have_no_serious_accessibility_violation(
    axe_tab: Page, site: Site, worker: WorkerProcess
) -> None:
    problems = {}
    for path in await _pages(site):
        await axe_tab.goto(path)
        await expect(axe_tab.locator("main h1")).to_be_visible()
        found = await _violations(axe_tab)
        if found:
            problems[path] = found
    assert problems == {}, problems


async def test_bulk_actions_work_from_the_keyboard(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username=unique("keys"))
    page = owner_ui.page
    await page.goto(f"/subscribers?router_id={site.router['id']}")
    box = page.locator(f"input[name=ids][value='{created['id']}']")
    await box.focus()
    await page.keyboard.press("Space")
    await expect(box).to_be_checked()
    await page.get_by_role("button", name="Renew selected").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".flash")).to_contain_text("1 subscriber(s): renewed")


async def test_charts_draw_from_local_files(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username=unique("chart"))
    await site.synced(created["id"])
    await site.call("POST", f"/subscribers/{created['id']}/suspend")
    page = owner_ui.page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto("/charts")
    for chart in ("latency", "changes", "owed", "routers"):
        await expect(page.locator(f"#chart-{chart} canvas")).to_have_count(1)
    assert all(url.startswith(owner_ui.base_url) for url in requests), requests
    changes = await page.evaluate("JSON.parse(document.getElementById('chart-data').text)")
    assert sum(changes["changes"]) >= 2
    assert max(v or 0 for v in changes["latency_p50_ms"]) > 0
    await owner_ui.shot("charts")


async def test_documentation_pictures(owner_ui: UI, site: Site, worker: WorkerProcess) -> None:
    """The pictures of docs/web-ui.md, taken on a small live tenant."""
    synced = [await site.subscriber(username=name) for name in ("alice", "bob", "carol")]
    for row in synced:
        await site.synced(row["id"])
    site.sim.trap_next(path="/ppp/secret/add", n=2, message="failure: invalid profile", category=1)
    await site.subscriber(username="dave")
    page = owner_ui.page
    await page.goto(f"/subscribers/{synced[0]['id']}")
    await page.get_by_role("button", name="Suspend").click()
    await expect(page.locator("#live .sync .badge")).to_have_text("Synced")
    shots = {}
    for name, path in (
        ("dashboard", "/"),
        ("subscribers", f"/subscribers?router_id={site.router['id']}"),
        ("subscriber", f"/subscribers/{synced[0]['id']}"),
        ("audit-log", "/audit"),
        ("charts", "/charts"),
    ):
        await page.goto(path)
        await expect(page.locator("main h1")).to_be_visible()
        if name == "subscribers":
            await expect(page.locator(".sync-error").first).to_be_visible()
        if name == "charts":
            await expect(page.locator("#chart-changes canvas")).to_have_count(1)
        shots[name] = await owner_ui.shot(name)
    await page.set_viewport_size(PHONE)
    await page.goto(f"/subscribers?router_id={site.router['id']}")
    shots["phone"] = await owner_ui.shot("phone")
    if os.environ.get("MIKROSYNC_UPDATE_DOCS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        for name, shot in shots.items():
            shutil.copyfile(shot, DOCS_IMAGES / f"{name}.png")


async def _set_zone(ui: UI, name: str) -> None:
    await ui.page.goto("/settings")
    await ui.page.select_option("#f-timezone", name)
    await ui.page.get_by_role("button", name="Save").click()
    await expect(ui.page.locator(".flash")).to_contain_text("Settings saved")


def _seconds_off(text: str, zone_name: str) -> float:
    shown = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(zone_name))
    return abs((datetime.now(UTC) - shown).total_seconds())


async def test_times_are_in_the_tenant_zone_with_seconds(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    # UTC+05:45: a time shown in any other zone is hours off.
    zone_name = "Asia/Kathmandu"
    await _set_zone(owner_ui, zone_name)
    page = owner_ui.page
    try:
        created = await site.subscriber(username=unique("tz"))
        await site.synced(created["id"])
        await page.goto(f"/subscribers/{created['id']}")
        await expect(page.locator("footer")).to_contain_text(zone_name)
        newest = page.locator("#live table.timeline tbody tr").first.locator("td").first
        assert _seconds_off(await newest.inner_text(), zone_name) < 600
        await page.goto("/audit")
        when = page.locator("#audit tbody tr").first.locator("td").first
        assert _seconds_off(await when.inner_text(), zone_name) < 600
        await page.goto(f"/routers/{site.router['id']}")
        assert _seconds_off(await page.locator("#last-seen").inner_text(), zone_name) < 600
    finally:
        await _set_zone(owner_ui, "UTC")
