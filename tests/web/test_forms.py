"""Create and edit forms: every error beside its field, what was typed kept, nothing written
while a field is wrong; the same rules as the API because the same schemas and services run."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.helpers import make_package, make_router, make_subscriber, unique
from tests.plugins.web import WebClient, WebTenant


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<small class="field-error" id="err-{name}">([^<]*)</small>', page)
    return html.unescape(found.group(1)) if found else None


def value_of(page: str, name: str) -> str | None:
    found = re.search(rf'<input id="f-{name}" name="{name}" type="[^"]*" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


async def _subscriber_count(client: WebClient, query: str) -> str:
    page = await client.get(f"/subscribers?q={query}")
    found = re.search(r'<p class="muted" id="total">(\d+) subscriber', page.text)
    assert found
    return found.group(1)


async def test_subscriber_form_keeps_input_and_shows_field_errors(web: WebTenant) -> None:
    router = await make_router(web.api, web.staff)
    package = await make_package(web.api, web.staff)
    name = unique("Ann")
    form: dict[str, Any] = {
        "router_id": router["id"],
        "package_id": package["id"],
        "service": "pppoe",
        "username": "has space",
        "password": "pw-1",
        "remote_address": "10.0.0.300",
        "full_name": name,
        "email": "not-an-email",
        "expires_at": "tomorrow",
    }
    response = await web.operator.post("/subscribers/new", form)
    assert response.status_code == 422
    page = response.text
    assert "without spaces" in (field_error(page, "username") or "")
    assert "is not an IPv4 address" in (field_error(page, "remote_address") or "")
    assert "is not an email address" in (field_error(page, "email") or "")
    assert "enter a date and time" in (field_error(page, "expires_at") or "")
    assert value_of(page, "username") == "has space" and value_of(page, "full_name") == name
    assert value_of(page, "remote_address") == "10.0.0.300"
    assert f'<option value="{router["id"]}" selected>' in page
    assert 'aria-invalid="true"' in page
    assert await _subscriber_count(web.operator, name) == "0"

    # A rule only the domain knows (static needs static_ip) lands beside its field too.
    static = form | {"service": "static", "username": unique("office"), "remote_address": ""}
    static |= {"email": "", "expires_at": "2030-01-31T18:00"}
    response = await web.operator.post("/subscribers/new", static)
    assert response.status_code == 422
    assert field_error(response.text, "package_id") == (
        f"package {package['name']!r} is for pppoe subscribers, not static"
    )
    assert value_of(response.text, "expires_at") == "2030-01-31T18:00"

    ok = form | {"username": unique("ann"), "remote_address": "", "email": "", "expires_at": ""}
    created = await web.operator.post("/subscribers/new", ok)
    assert created.status_code == 303
    page = await web.operator.get(created.headers["location"])
    assert "stays Pending until the router has it" in page.text
    assert await _subscriber_count(web.operator, name) == "1"


async def test_duplicate_username_is_an_error_beside_the_form(web: WebTenant) -> None:
    existing = await make_subscriber(web.api, web.staff)
    form = {
        "router_id": existing["router_id"],
        "package_id": existing["package_id"],
        "service": "pppoe",
        "username": existing["username"],
        "password": "pw-2",
    }
    response = await web.operator.post("/subscribers/new", form)
    assert response.status_code == 422
    assert f"username {existing['username']!r} is already used on this router" in html.unescape(
        response.text
    )
    assert value_of(response.text, "username") == existing["username"]


async def test_subscriber_edit_form(web: WebTenant) -> None:
    created = await make_subscriber(web.api, web.staff, full_name="Old Name", phone="123")
    url = f"/subscribers/{created['id']}/edit"
    page = await web.operator.get(url)
    assert value_of(page.text, "full_name") == "Old Name" and value_of(page.text, "password") == ""
    bad = await web.operator.post(
        url, {"full_name": "New Name", "static_ip": "10.9.9.9", "phone": ""}
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "static_ip") == "only static subscribers have a static_ip"
    assert value_of(bad.text, "full_name") == "New Name"
    assert "Edit " + created["username"] in bad.text
    good = await web.operator.post(
        url, {"full_name": "New Name", "phone": "", "expires_at": "2031-05-01T10:30"}
    )
    assert good.status_code == 303
    row = (
        await web.api.get(f"/api/v1/subscribers/{created['id']}", headers=web.staff.headers)
    ).json()
    assert row["full_name"] == "New Name" and row["phone"] is None
    assert row["expires_at"].startswith("2031-05-01T10:30")  # the tenant's zone is UTC here
    assert row["desired_version"] == 1  # contact fields change quietly, as in the API


async def test_package_form(web: WebTenant) -> None:
    name = unique("Gold")
    bad = await web.owner.post(
        "/packages/new",
        {"name": name, "service": "pppoe", "rate_limit": "fast", "duration_days": "-1"},
    )
    assert bad.status_code == 422
    assert "'fast' is not a rate" in html.unescape(field_error(bad.text, "rate_limit") or "")
    assert field_error(bad.text, "duration_days")
    assert value_of(bad.text, "name") == name and value_of(bad.text, "rate_limit") == "fast"
    good = await web.owner.post(
        "/packages/new",
        {"name": name, "service": "pppoe", "rate_limit": "10M/5M", "duration_hours": "36"},
    )
    assert good.status_code == 303
    listing = await web.owner.get("/packages")
    assert name in listing.text and "1 day 12 h" in listing.text
    duplicate = await web.owner.post(
        "/packages/new", {"name": name, "service": "pppoe", "rate_limit": "1M"}
    )
    assert duplicate.status_code == 422
    assert f"a package named {name!r} already exists" in html.unescape(duplicate.text)
    package_id = re.search(rf'id="package-(\d+)">\s*<td><a [^>]*>{name}<', listing.text)
    assert package_id
    edit = f"/packages/{package_id.group(1)}/edit"
    page = await web.owner.get(edit)
    assert (
        value_of(page.text, "duration_days") == "1"
        and value_of(page.text, "duration_hours") == "12"
    )
    refused = await web.owner.post(edit, {"name": name, "rate_limit": "20M/10M x"})
    assert refused.status_code == 422 and f"Edit {name}" in refused.text
    assert field_error(refused.text, "rate_limit")
    saved = await web.owner.post(
        edit,
        {"name": name, "service": "pppoe", "rate_limit": "20M/10M", "duration_days": "7"},
    )
    assert saved.status_code == 303
    assert "20M/10M" in (await web.owner.get("/packages")).text


async def test_router_form_never_shows_the_password(web: WebTenant) -> None:
    name = unique("edge")
    bad = await web.owner.post(
        "/routers/new",
        {"name": name, "host": "bad host!", "port": "99999", "username": "api", "password": "s3c"},
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "host") == "host must be an IP address or DNS name"
    assert field_error(bad.text, "port")
    assert value_of(bad.text, "name") == name and "s3c" not in bad.text
    good = await web.owner.post(
        "/routers/new",
        {"name": name, "host": "192.0.2.7", "port": "8728", "username": "api", "password": "s3c"},
    )
    assert good.status_code == 303
    detail = good.headers["location"]
    edit = await web.owner.get(f"{detail}/edit")
    assert value_of(edit.text, "host") == "192.0.2.7" and "s3c" not in edit.text
    assert value_of(edit.text, "password") == ""
    refused = await web.owner.post(
        f"{detail}/edit", {"name": name, "host": "192.0.2.8", "port": "0", "username": "api"}
    )
    assert refused.status_code == 422 and f"Edit {name}" in refused.text
    assert field_error(refused.text, "port")
    saved = await web.owner.post(
        f"{detail}/edit",
        {"name": name, "host": "192.0.2.8", "port": "8729", "username": "api", "use_tls": "on"},
    )
    assert saved.status_code == 303
    page = await web.owner.get(detail)
    assert "192.0.2.8:8729 (TLS)" in page.text


async def test_router_edit_refuses_two_trust_modes(web: WebTenant) -> None:
    """A pinned fingerprint plus "accept any certificate" would stop every connection; the
    console refuses the pair, like the API."""
    name = unique("pinned")
    fields = {"name": name, "host": "192.0.2.9", "port": "8729", "username": "api"}
    created = await web.owner.post(
        "/routers/new", fields | {"password": "s3c", "use_tls": "on", "tls_fingerprint": "ab" * 32}
    )
    assert created.status_code == 303
    detail = created.headers["location"]
    refused = await web.owner.post(
        f"{detail}/edit",
        fields | {"use_tls": "on", "tls_fingerprint": "ab" * 32, "tls_insecure": "on"},
    )
    assert refused.status_code == 422 and "not both" in html.unescape(refused.text)
