"""POST /api/v1/subscribers/import: both body forms, dry run, roles, tenancy, bad files."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mikrosync.jobs.producer import JobQueue
from mikrosync.settings import Settings
from mikrosync.tenants.models import Role
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import TEST_PUSH_TIMEOUT_S, Staff, TenantFactory

URL = "/api/v1/subscribers/import"
CSV = """username,password,package,remote_address,expires_at
ann,Pw-ann-1,Home,,2030-05-01
bad user,Pw-bad-1,Home,,
ben,Pw-ben-1,Ghost,,
cat,Pw-cat-1,Home,10.0.0.300,
dan,Pw-dan-1,Home,10.0.0.7,
"""


async def _site(client: httpx.AsyncClient, owner: Staff) -> int:
    await make_package(client, owner, name="Home", service="pppoe")
    router: dict[str, Any] = await make_router(client, owner)
    return int(router["id"])


async def _post_text(
    client: httpx.AsyncClient,
    staff: Staff,
    router_id: int,
    text: str = CSV,
    content_type: str = "text/csv",
    dry_run: bool = False,
) -> httpx.Response:
    return await client.post(
        URL,
        params={"router_id": router_id, "dry_run": str(dry_run).lower()},
        headers=staff.headers | {"content-type": content_type},
        content=text.encode(),
    )


async def _usernames(client: httpx.AsyncClient, staff: Staff, router_id: int) -> set[str]:
    response = await client.get(
        "/api/v1/subscribers", params={"router_id": router_id}, headers=staff.headers
    )
    return {item["username"] for item in response.json()["items"]}


def _check_report(report: dict[str, Any], dry_run: bool) -> None:
    assert report["created"] == 2 and report["skipped"] == 3 and report["dry_run"] is dry_run
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "username"),
        (4, "package"),
        (5, "remote_address"),
    ]
    assert "no package named 'Ghost'" in report["errors"][1]["message"]


async def test_csv_body_creates_good_rows_and_pushes_their_jobs(
    client: httpx.AsyncClient, owner: Staff, settings: Settings
) -> None:
    router_id = await _site(client, owner)
    response = await _post_text(client, owner, router_id)
    assert response.status_code == 200, response.text
    _check_report(response.json(), dry_run=False)
    listed = await client.get(
        "/api/v1/subscribers", params={"router_id": router_id}, headers=owner.headers
    )
    items = {item["username"]: item for item in listed.json()["items"]}
    assert set(items) == {"ann", "dan"}
    assert all(item["sync_status"] == "pending" for item in items.values())
    assert items["ann"]["expires_at"].startswith("2030-05-01T23:59:59")
    events = await client.get(
        f"/api/v1/subscribers/{items['dan']['id']}/events", headers=owner.headers
    )
    assert [(e["operation"], e["outcome"]) for e in events.json()] == [("addUser", "requested")]
    queue = JobQueue(
        settings.redis_url or "", prefix=settings.queue_prefix, timeout_s=TEST_PUSH_TIMEOUT_S
    )
    try:
        waiting = await queue._call("getWaiting", 0, -1)
    finally:
        await queue.close()
    pushed = {job.data["subscriber_id"] for job in waiting if job.name == "addUser"}
    assert {items["ann"]["id"], items["dan"]["id"]} <= pushed


async def test_multipart_file_field_works_the_same(client: httpx.AsyncClient, owner: Staff) -> None:
    router_id = await _site(client, owner)
    response = await client.post(
        URL,
        params={"router_id": router_id},
        headers=owner.headers,
        files={"file": ("subs.csv", CSV.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    _check_report(response.json(), dry_run=False)
    assert await _usernames(client, owner, router_id) == {"ann", "dan"}


async def test_dry_run_reports_and_writes_nothing(client: httpx.AsyncClient, owner: Staff) -> None:
    router_id = await _site(client, owner)
    response = await _post_text(client, owner, router_id, dry_run=True)
    assert response.status_code == 200, response.text
    _check_report(response.json(), dry_run=True)
    assert await _usernames(client, owner, router_id) == set()


async def test_a_viewer_may_not_import(client: httpx.AsyncClient, factory: TenantFactory) -> None:
    tenant_id = await factory.tenant()
    owner = await factory.staff(tenant_id)
    viewer = await factory.staff(tenant_id, Role.VIEWER)
    router_id = await _site(client, owner)
    response = await _post_text(client, viewer, router_id)
    assert response.status_code == 403
    operator = await factory.staff(tenant_id, Role.OPERATOR)
    assert (await _post_text(client, operator, router_id)).status_code == 200


async def test_another_tenants_router_is_not_found(
    client: httpx.AsyncClient, owner: Staff, factory: TenantFactory
) -> None:
    await _site(client, owner)
    stranger = await factory.staff(await factory.tenant())
    foreign = await make_router(client, stranger)
    response = await _post_text(client, owner, foreign["id"])
    assert response.status_code == 404
    assert await _usernames(client, stranger, foreign["id"]) == set()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("name,pass\nx,y\n", "unknown column(s) name, pass"),
        ("password,package\nPw-1x,Home\n", "lacks the column(s) username"),
    ],
)
async def test_text_that_is_not_an_import_csv_is_reported_and_nothing_made(
    client: httpx.AsyncClient, owner: Staff, text: str, fragment: str
) -> None:
    """Any text is a body the schema allows (schemathesis' positive-data check, issue 14):
    what is wrong with it is in the report, as an error of `file`, and nothing is created."""
    router_id = await _site(client, owner)
    response = await _post_text(client, owner, router_id, text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["skipped"]) == (0, 0)
    [problem] = report["errors"]
    assert problem["field"] == "file" and problem["line"] == 1
    assert fragment in problem["message"]
    assert await _usernames(client, owner, router_id) == set()


async def test_a_body_that_is_not_csv_text_is_422(client: httpx.AsyncClient, owner: Staff) -> None:
    router_id = await _site(client, owner)
    response = await _post_text(client, owner, router_id, '{"username": "x"}', "application/json")
    assert response.status_code == 422, response.text
    assert "got application/json" in _file_problem(response)


def _file_problem(response: httpx.Response) -> str:
    """The message of a 422 about the file, in the API's one 422 shape (fuzz bug 3)."""
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "file"] and problem["type"] == "value_error"
    message: str = problem["msg"]
    return message


async def test_a_binary_file_is_reported_and_a_missing_file_field_is_422(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    router_id = await _site(client, owner)
    binary = await client.post(
        URL,
        params={"router_id": router_id},
        headers=owner.headers | {"content-type": "text/csv"},
        content=b"\xff\xfe\x00garbage",
    )
    assert binary.status_code == 200, binary.text
    [problem] = binary.json()["errors"]
    assert problem["field"] == "file" and "not UTF-8" in problem["message"]
    no_file = await client.post(
        URL, params={"router_id": router_id}, headers=owner.headers, files={"other": b"x"}
    )
    assert no_file.status_code == 422 and "field 'file'" in _file_problem(no_file)


async def test_a_file_over_the_limit_is_413(client: httpx.AsyncClient, owner: Staff) -> None:
    router_id = await _site(client, owner)
    big = "username,password,package\n" + "x" * (20 * 1024 * 1024)
    response = await _post_text(client, owner, router_id, big)
    assert response.status_code == 413 and "split it" in response.json()["detail"]


async def test_the_import_path_does_not_shadow_subscriber_routes(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await make_subscriber(client, owner)
    found = await client.get(f"/api/v1/subscribers/{created['id']}", headers=owner.headers)
    assert found.status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "post" in schema["paths"]["/api/v1/subscribers/import"]
