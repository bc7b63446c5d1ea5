"""REST API of voucher batches: intent recorded at once, field-named validation errors, the
sheet (PDF rendered to PNG by pdftoppm), the CSV export, search, sold marking and sales."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from mikrosync.runtime import Runtime
from mikrosync.vouchers.codes import DEFAULT_ALPHABET, LOOK_ALIKES
from mikrosync.vouchers.models import Voucher
from tests.helpers import make_package, make_router
from tests.plugins.core import Staff, TenantFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


async def _setup(client: httpx.AsyncClient, owner: Staff) -> dict[str, Any]:
    router = await make_router(client, owner)
    package = await make_package(client, owner, service="hotspot", rate_limit="2M/1M")
    return {"router_id": router["id"], "package_id": package["id"]}


async def _create(client: httpx.AsyncClient, owner: Staff, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/voucher-batches", json=body, headers=owner.headers)


def _fields(response: httpx.Response) -> list[str]:
    """The fields a refusal names: a 422's list, or the one field of a 404 (an unknown id) or
    a 409 (a value the data refuses, e.g. too few possible codes): issue 14."""
    assert response.status_code in (404, 409, 422), response.text
    if response.status_code != 422:
        return [response.json()["field"]]
    return [str(item["loc"][-1]) for item in response.json()["detail"]]


async def test_batch_is_recorded_with_every_voucher_at_once(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    base = await _setup(client, owner)
    response = await _create(client, owner, base | {"count": 50, "price": "1.50", "validity": "1d"})
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["count"], batch["on_router"], batch["status"]) == (50, 0, "pending")
    assert batch["validity_minutes"] == 1440
    detail = (
        await client.get(f"/api/v1/voucher-batches/{batch['id']}", headers=owner.headers)
    ).json()
    assert detail["progress"] == "0 of 50 on the router"
    assert detail["states"]["unused"] == 50
    vouchers = (
        await client.get(f"/api/v1/voucher-batches/{batch['id']}/vouchers", headers=owner.headers)
    ).json()
    codes = [v["code"] for v in vouchers]
    assert len(set(codes)) == 50
    assert all(
        len(c) == 8 and not set(c) & LOOK_ALIKES and set(c) <= set(DEFAULT_ALPHABET) for c in codes
    )
    assert all("password" not in v for v in vouchers)
    async with runtime.sessionmaker() as session:
        rows = (await session.scalars(select(Voucher).where(Voucher.batch_id == batch["id"]))).all()
    for row in rows:  # encrypted at rest, the code itself being the password by default
        assert row.code not in row.password_encrypted
        assert runtime.vault.decrypt(row.password_encrypted) == row.code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 10_001}, "count"),
        ({"alphabet": "AAAA"}, "alphabet"),
        ({"alphabet": "AB-?"}, "alphabet"),
        ({"count": 100, "code_length": 3}, "code_length"),
        ({"package_id": None}, "profile_name"),
        ({"validity": "soon"}, "validity"),
        ({"limit_bytes_total": "lots"}, "limit_bytes_total"),
        ({"prefix": "HOT-"}, "prefix"),
        ({"login_url": "ftp://x"}, "login_url"),
    ],
)
async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, owner: Staff, change: dict[str, Any], field: str
) -> None:
    base = await _setup(client, owner)
    response = await _create(client, owner, base | {"count": 10} | change)
    assert field in _fields(response)


async def test_a_pppoe_package_or_another_tenants_router_is_refused(
    client: httpx.AsyncClient, owner: Staff, factory: TenantFactory
) -> None:
    base = await _setup(client, owner)
    pppoe = await make_package(client, owner, service="pppoe")
    response = await _create(client, owner, base | {"count": 5, "package_id": pppoe["id"]})
    assert _fields(response) == ["package_id"]
    stranger = await factory.staff(await factory.tenant())
    theirs = await make_router(client, stranger)
    response = await _create(client, owner, base | {"count": 5, "router_id": theirs["id"]})
    assert _fields(response) == ["router_id"]


async def test_sheet_renders_codes_and_qr_codes(client: httpx.AsyncClient, owner: Staff) -> None:
    base = await _setup(client, owner)
    body = base | {"count": 30, "price": "2.00", "validity": "1h", "password_mode": "separate"}
    batch = (await _create(client, owner, body)).json()
    response = await client.get(
        f"/api/v1/voucher-batches/{batch['id']}/print.pdf?per_page=21", headers=owner.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SCREENSHOTS / "vouchers-sheet.pdf"
    pdf.write_bytes(response.content)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm missing: run scripts/ensure-services.sh"
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(SCREENSHOTS / "vouchers-sheet"),
        ],
        check=True,
    )
    with Image.open(SCREENSHOTS / "vouchers-sheet.png") as image:
        grey = image.convert("L")
        assert grey.size[0] > 1000
        dark = sum(grey.histogram()[:100])
    assert dark > 50_000  # QR modules and code text: a sheet of 21 cards is far from blank
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbarimg missing: run scripts/ensure-services.sh"
    scanned = subprocess.run(
        [zbarimg, "-q", "--raw", str(SCREENSHOTS / "vouchers-sheet.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(scanned) == 21
    export = await client.get(
        f"/api/v1/voucher-batches/{batch['id']}/export.csv", headers=owner.headers
    )
    wanted = {
        f"http://10.5.50.1/login?username={row['code']}&password={row['password']}"
        for row in csv.DictReader(io.StringIO(export.text))
    }
    assert set(scanned) <= wanted  # every QR code logs in with its own card's voucher
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+2$", info.stdout, re.MULTILINE), info.stdout
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    vouchers = (
        await client.get(f"/api/v1/voucher-batches/{batch['id']}/vouchers", headers=owner.headers)
    ).json()
    assert vouchers[0]["code"] in text and "Password:" in text
    bad = await client.get(
        f"/api/v1/voucher-batches/{batch['id']}/print.pdf?per_page=7", headers=owner.headers
    )
    assert _fields(bad) == ["per_page"]


async def test_csv_export_search_sold_and_sales(
    client: httpx.AsyncClient, owner: Staff, factory: TenantFactory
) -> None:
    base = await _setup(client, owner)
    batch = (await _create(client, owner, base | {"count": 12, "price": "3.00"})).json()
    export = await client.get(
        f"/api/v1/voucher-batches/{batch['id']}/export.csv", headers=owner.headers
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 12 and all(r["password"] == r["code"] for r in rows)
    code = rows[4]["code"]
    found = (
        await client.get(f"/api/v1/vouchers?code={code[2:6].lower()}", headers=owner.headers)
    ).json()
    assert code in [v["code"] for v in found]
    stranger = await factory.staff(await factory.tenant())
    assert (
        await client.get(f"/api/v1/vouchers?code={code}", headers=stranger.headers)
    ).json() == []
    voucher = next(v for v in found if v["code"] == code)
    for _ in range(2):  # marking twice records one sale
        sold = await client.post(
            f"/api/v1/vouchers/{voucher['id']}/sold", json={"sold": True}, headers=owner.headers
        )
        assert sold.status_code == 200 and sold.json()["sold"] is True
    detail = (await client.get(f"/api/v1/vouchers/{voucher['id']}", headers=owner.headers)).json()
    assert [e["what"] for e in detail["events"]] == ["sold"]
    sales = (await client.get("/api/v1/voucher-sales", headers=owner.headers)).json()
    assert {"batch_id": batch["id"], "sold": 1, "total": "3.00"} in sales["by_batch"]
    assert sales["by_day"][0]["sold"] == 1
    other = await client.get(f"/api/v1/vouchers/{voucher['id']}", headers=stranger.headers)
    assert other.status_code == 404


async def test_delete_marks_the_batch_for_removal(client: httpx.AsyncClient, owner: Staff) -> None:
    base = await _setup(client, owner)
    batch = (await _create(client, owner, base | {"count": 3})).json()
    response = await client.delete(f"/api/v1/voucher-batches/{batch['id']}", headers=owner.headers)
    assert response.status_code == 202 and response.json()["status"] == "deleting"


async def test_search_takes_its_text_literally(client: httpx.AsyncClient, owner: Staff) -> None:
    base = await _setup(client, owner)
    await _create(client, owner, base | {"count": 3})
    wildcard = await client.get("/api/v1/vouchers?code=%25", headers=owner.headers)
    assert wildcard.status_code == 200 and wildcard.json() == []
    nul = await client.get("/api/v1/vouchers?code=A%00", headers=owner.headers)
    assert nul.status_code == 422 and "code" in nul.text


async def test_vouchers_are_listed_by_page(client: httpx.AsyncClient, owner: Staff) -> None:
    base = await _setup(client, owner)
    batch = (await _create(client, owner, base | {"count": 7})).json()
    url = f"/api/v1/voucher-batches/{batch['id']}/vouchers"
    first = (await client.get(f"{url}?per_page=5", headers=owner.headers)).json()
    second = (await client.get(f"{url}?per_page=5&page=2", headers=owner.headers)).json()
    assert len(first) == 5 and len(second) == 2
    assert not {v["id"] for v in first} & {v["id"] for v in second}
