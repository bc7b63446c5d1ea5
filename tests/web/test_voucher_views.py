"""Voucher console pages over ASGI: the create form (errors beside their fields), the batch
page with its progress partial, printing, export, sold marks, search, and tenancy."""

from __future__ import annotations

import re

from tests.helpers import make_package, make_router
from tests.plugins.core import TenantFactory
from tests.plugins.web import WebLogin


async def test_create_batch_from_the_form_then_its_page(
    factory: TenantFactory, web_login: WebLogin
) -> None:
    owner = await factory.staff(await factory.tenant())
    router = await make_router(factory.client, owner, name="hs-1")
    package = await make_package(factory.client, owner, service="hotspot", name="1 day pass")
    web = await web_login(owner)
    form = await web.get("/vouchers/new")
    assert form.status_code == 200 and "1 day pass" in form.text
    fields = {"router_id": str(router["id"]), "package_id": str(package["id"])}
    refused = await web.post("/vouchers/new", fields | {"count": "0", "alphabet": "ABCD"})
    assert refused.status_code == 422
    assert 'id="err-count"' in refused.text
    tiny = await web.post("/vouchers/new", fields | {"count": "500", "code_length": "3"})
    assert tiny.status_code == 422 and 'id="err-code_length"' in tiny.text
    created = await web.post(
        "/vouchers/new", fields | {"count": "15", "price": "1.00", "validity": "1h"}
    )
    assert created.status_code == 303
    url = created.headers["location"]
    page = await web.get(url)
    assert "0 of 15 on the router" in page.text and "hs-1" in page.text
    assert 'hx-trigger="every 1s"' in page.text  # pending: the progress is polled
    poll = await web.get(url, headers={"HX-Request": "true"})
    assert poll.text.lstrip().startswith('<section id="progress"')
    listing = await web.get("/vouchers")
    assert "0 of 15 on the router" in listing.text
    code = re.findall(r"<code>([A-Z0-9]+)</code>", page.text)[0]
    found = await web.get(f"/vouchers?code={code}")
    assert f">{code}</a>" in found.text
    pdf = await web.get(f"{url}/print.pdf?per_page=12")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    csv_text = (await web.get(f"{url}/export.csv")).text
    assert csv_text.count("\n") == 16 and code in csv_text
    voucher_id = re.findall(r'href="/vouchers/codes/(\d+)"', page.text)[0]
    sold = await web.post(f"/vouchers/codes/{voucher_id}/sold", {"sold": "yes", "back": url})
    assert sold.status_code == 303 and sold.headers["location"] == url
    detail = await web.get(f"/vouchers/codes/{voucher_id}")
    assert "sold" in detail.text and "Mark not sold" in detail.text
    deleted = await web.post(f"{url}/delete")
    assert deleted.status_code == 303
    assert "deleting" in (await web.get(url)).text
    stranger = await web_login(await factory.staff(await factory.tenant()))
    assert (await stranger.get(url)).status_code == 404
    assert (await stranger.get(f"/vouchers/codes/{voucher_id}")).status_code == 404
