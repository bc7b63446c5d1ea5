"""What operators expected and could not find (issue 17): expiring soon with bulk renew,
package change and move; staff users; the audit log; CSV export and import; router adoption.
Real Chromium against real server and worker processes and the simulator, as test_browser.py.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from mikrosync.simulator.testing import running_router
from tests.helpers import make_package, make_router, unique
from tests.plugins.e2e import Site, WorkerProcess, eventually
from tests.plugins.web import UI

BACKENDS = os.environ.get("MIKROSYNC_BROWSER_BACKENDS", "sqlite").split(",")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("e2e_settings", BACKENDS, indirect=True, scope="module"),
]


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_expiring_soon_filter_card_and_bulk_renew_package_and_move(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    soon = [await site.subscriber(username=unique("soon"), expires_at=_in(2)) for _ in range(3)]
    later = await site.subscriber(username=unique("later"), expires_at=_in(60))
    page = owner_ui.page
    await page.goto("/")
    card = page.locator("#expiring")
    await expect(card).to_contain_text("Expiring soon")
    await card.get_by_role("link", name="next 30 days").click()
    await page.goto(f"/subscribers?router_id={site.router['id']}&expires_within_days=7")
    for row in soon:
        await expect(page.locator(f"#row-{row['id']}")).to_be_visible()
    await expect(page.locator(f"#row-{later['id']}")).to_have_count(0)
    await owner_ui.shot("expiring")

    # Renew the first: it leaves the 7-day list.
    await page.locator(f"input[name=ids][value='{soon[0]['id']}']").check()
    await page.get_by_role("button", name="Renew selected").click()
    await expect(page.locator(".flash")).to_contain_text("1 subscriber(s): renewed")
    await expect(page.locator(f"#row-{soon[0]['id']}")).to_have_count(0)

    # Change the package of the second.
    faster = await make_package(site.client, site.owner, service="pppoe", rate_limit="20M/10M")
    await page.reload()
    await page.locator(f"input[name=ids][value='{soon[1]['id']}']").check()
    await page.select_option("#bulk-package", str(faster["id"]))
    await page.get_by_role("button", name="Change package of selected").click()
    await expect(page.locator(".flash")).to_contain_text("1 subscriber(s): package change")

    async def on_new_package() -> bool:
        return (await site.status(soon[1]["id"]))["package_id"] == faster["id"]

    await eventually(on_new_package, what="the package change applied")

    # Move the third to another router: created there, removed from the first.
    async with running_router(username="admin", password="router-pw") as other_sim:
        other = await make_router(
            site.client,
            site.owner,
            host=other_sim.host,
            port=other_sim.port,
            username="admin",
            password="router-pw",
        )
        await page.reload()
        await page.locator(f"input[name=ids][value='{soon[2]['id']}']").check()
        await page.select_option("#bulk-router", str(other["id"]))
        await page.get_by_role("button", name="Move selected to router").click()
        await expect(page.locator(".flash")).to_contain_text("1 subscriber(s): moved")
        name = soon[2]["username"]

        async def moved() -> bool:
            there = [r for r in other_sim.rows("/ppp/secret") if r.get("name") == name]
            return bool(there) and not site.rows("/ppp/secret", name=name)

        await eventually(moved, what="the subscriber moved between routers")


async def test_staff_invite_role_disable_and_reset(
    owner_ui: UI, ui: UI, site: Site, worker: WorkerProcess
) -> None:
    page = owner_ui.page
    email = f"{unique('tech')}@isp.test"
    await page.goto("/")
    await page.get_by_role("link", name="Staff").click()
    await page.fill("#f-email", email)
    await page.select_option("#f-role", "viewer")
    await page.get_by_role("button", name="Invite").click()
    password = await page.locator("#one-time").input_value()
    assert len(password) >= 12
    await owner_ui.shot("invited")

    await ui.login(email, password)
    await expect(ui.page.locator(".who")).to_contain_text("viewer")

    await page.goto("/staff")
    row = page.locator("#staff tr", has_text=email)
    await row.get_by_label(f"Role of {email}").select_option("operator")
    await row.get_by_role("button", name="Change role").click()
    await expect(page.locator(".flash")).to_contain_text(f"{email} is now operator")
    await ui.page.goto("/")
    await expect(ui.page.locator(".who")).to_contain_text("operator")

    await page.locator("#staff tr", has_text=email).get_by_role("button", name="Disable").click()
    await expect(page.locator(".flash")).to_contain_text("disabled")
    await ui.page.goto("/subscribers")
    await expect(ui.page.locator("#f-email")).to_be_visible()  # sent to the login page

    await page.locator("#staff tr", has_text=email).get_by_role("button", name="Enable").click()
    await (
        page.locator("#staff tr", has_text=email)
        .get_by_role("button", name="Reset password")
        .click()
    )
    fresh = await page.locator("#one-time").input_value()
    assert fresh != password
    await ui.login(email, fresh)

    # Nobody can lock themselves out.
    await page.goto("/staff")
    mine = page.locator("#staff tr", has_text=site.owner.email)
    await expect(mine.get_by_role("button", name="Disable")).to_have_count(0)


async def test_audit_log_records_filters_and_exports(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username=unique("audited"))
    page = owner_ui.page
    await page.goto(f"/subscribers/{created['id']}")
    await page.get_by_role("button", name="Suspend").click()
    await expect(page.locator(".flash")).to_contain_text("Suspension")
    await page.goto("/audit")
    first = page.locator("#audit tbody tr", has_text=created["username"]).first
    await expect(first).to_contain_text("subscriber.suspend")
    await expect(first).to_contain_text(site.owner.email)
    await expect(first).to_contain_text("127.0.0.1")
    await page.select_option("#f-action", "router")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#audit tbody")).not_to_contain_text("subscriber.suspend")
    await page.select_option("#f-action", "subscriber")
    await page.fill("#f-q", created["username"])
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#audit tbody tr")).to_have_count(1)
    await owner_ui.shot("audit-log")
    answer = await page.request.get(f"/audit.csv?action=subscriber&q={created['username']}")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(await answer.text())))
    assert rows[0][:4] == ["time_utc", "time (UTC)", "who", "action"]
    assert [r[3] for r in rows[1:]] == ["subscriber.suspend"]


async def test_csv_export_of_a_filtered_list_and_import_with_preview(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    tag = unique("exp")
    await site.subscriber(username=f"{tag}-a", full_name="=cmd|' /C calc'!A0")
    await site.subscriber(username=f"{tag}-b")
    page = owner_ui.page
    await page.goto(f"/subscribers?q={tag}")
    href = await page.locator("#export-csv").get_attribute("href")
    assert href and f"q={tag}" in href
    answer = await page.request.get(href)
    rows = list(csv.DictReader(io.StringIO(await answer.text())))
    assert sorted(r["username"] for r in rows) == [f"{tag}-a", f"{tag}-b"]
    assert rows[0]["full_name"].startswith("'=")  # no formula runs in a spreadsheet

    package = site.packages["pppoe"]["name"]
    good = unique("imp")
    body = (
        "username,password,package\n"
        f"{good},Good-pw-1,{package}\n"
        f"bad name,Pw-2,{package}\n"
        f"{unique('imp')},Pw-3,No Such Package\n"
    )
    await page.goto("/import")
    await page.select_option("#f-router_id", str(site.router["id"]))
    await page.set_input_files(
        "#f-file", files=[{"name": "subs.csv", "mimeType": "text/csv", "buffer": body.encode()}]
    )
    await page.get_by_role("button", name="Check (writes nothing)").click()
    await expect(page.locator("#import-summary")).to_contain_text("1 row(s) would be created")
    errors = page.locator("#import-errors tbody tr")
    await expect(errors).to_have_count(2)
    await expect(errors.nth(0)).to_contain_text("3")
    await expect(errors.nth(0)).to_contain_text("username")
    await expect(errors.nth(1)).to_contain_text("package")
    await expect(page.locator("#import-preview")).to_contain_text(good)
    assert "Good-pw-1" not in await page.content()  # a page never shows a password
    await owner_ui.shot("import-preview")
    assert not site.rows("/ppp/secret", name=good)
    await page.get_by_role("button", name="Import 1 row(s)").click()
    await expect(page.locator(".flash")).to_contain_text("1 subscriber(s) imported")

    async def created() -> bool:
        return bool(site.rows("/ppp/secret", name=good))

    await eventually(created, what="the imported subscriber on the router")


async def test_router_adoption_dry_run_then_adopt(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    login = unique("byhand")
    profile = site.packages["pppoe"]["profile_name"]
    first = await site.subscriber(username=unique("first"))
    await site.synced(first["id"])  # the package's profile is on the router now
    # A login made by hand on the router, with a package's profile.
    site.sim.add_row("/ppp/secret", {"name": login, "password": "hand-pw", "profile": profile})
    page = owner_ui.page
    await page.goto(f"/routers/{site.router['id']}")
    await page.get_by_role("link", name="Adopt existing logins (dry run)").click()
    await expect(page.locator("#adopt-candidates")).to_contain_text(login)
    await owner_ui.shot("adopt-dry-run")
    assert (await site.call("GET", f"/subscribers?q={login}"))["total"] == 0
    await page.get_by_role("button", name="Adopt").click()
    await expect(page.locator(".flash")).to_contain_text("are now subscribers")
    found = await site.call("GET", f"/subscribers?q={login}")
    assert found["total"] == 1 and found["items"][0]["sync_status"] == "synced"
