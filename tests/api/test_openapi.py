"""What an OpenAPI client generator, Swagger UI and schemathesis read (issue 14, items 7-9):
short stable operation ids, a schema for every answer, the CSV import's body, /docs with no
CDN, 405s with the path's whole `Allow` list, no lax coercion, and value rules that the
schema and the server apply alike."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mikrosync.routeros import value_rules
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import Staff

METHODS = {"get", "post", "put", "patch", "delete"}


async def _schema(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_operation_ids_are_short_unique_and_stable(client: httpx.AsyncClient) -> None:
    operations = _operations(await _schema(client))
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        # camelCase words, no FastAPI default (`list_subscribers_api_v1_subscribers_get`)
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", operation_id), operation_id
        assert "api" not in operation_id.lower() or operation_id == "getApi", operation_id
        assert len(operation_id) <= 30, operation_id
    by_route = {(m, p): o["operationId"] for m, p, o in operations}
    # What generated clients call them: renaming one breaks every client, so these are pinned.
    assert by_route[("get", "/api/v1/subscribers")] == "listSubscribers"
    assert by_route[("get", "/api/v1/subscribers/{subscriber_id}")] == "getSubscriber"
    assert by_route[("post", "/api/v1/auth/token")] == "createToken"
    assert by_route[("post", "/api/v1/subscribers/import")] == "importSubscribers"


async def test_every_answer_has_a_schema(client: httpx.AsyncClient) -> None:
    for method, path, operation in _operations(await _schema(client)):
        for status, response in operation["responses"].items():
            if status == "204":
                assert "content" not in response, (method, path)
                continue
            content = response.get("content")
            assert content, (method, path, status)
            assert all(media.get("schema") for media in content.values()), (method, path, status)


async def test_the_token_answer_is_a_typed_model(client: httpx.AsyncClient) -> None:
    schema = await _schema(client)
    answer = schema["paths"]["/api/v1/auth/token"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Token"}
    token = schema["components"]["schemas"]["Token"]
    assert set(token["required"]) == {"access_token", "expires_in"}
    assert token["properties"]["token_type"]["const"] == "bearer"


async def test_the_csv_import_body_is_described(client: httpx.AsyncClient) -> None:
    schema = await _schema(client)
    body = schema["paths"]["/api/v1/subscribers/import"]["post"]["requestBody"]
    assert body["required"] is True
    assert {"text/csv", "multipart/form-data"} <= set(body["content"])
    assert "schema" in body["content"]["text/csv"]


async def test_docs_load_nothing_from_other_hosts(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert not re.findall(r"https?://", page.text), page.text
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert len(assets) == 3, assets
    types = set()
    for url in assets:
        answer = await client.get(url)
        assert answer.status_code == 200 and len(answer.content) > 500, url
        types.add(answer.headers["content-type"].split(";")[0])
    assert types == {"text/javascript", "text/css", "image/png"}
    [script] = [url for url in assets if url.endswith(".js")]
    assert "SwaggerUIBundle" in (await client.get(script)).text
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404
    assert (await client.get("/redoc")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/subscribers", "GET, POST"),
        ("PUT", "/api/v1/subscribers/1", "DELETE, GET, PATCH"),
        ("PATCH", "/api/v1/subscribers/retry", "POST"),
        ("GET", "/api/v1/payments/stk-push", "POST"),
        ("DELETE", "/api/v1/message-settings", "GET, PATCH"),
    ],
)
async def test_a_method_the_path_lacks_is_405_with_the_whole_allow_list(
    client: httpx.AsyncClient, owner: Staff, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, headers=owner.headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow


async def test_numbers_are_not_times_and_not_booleans(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await make_subscriber(client, owner)
    url = f"/api/v1/subscribers/{created['id']}"
    for expires_at in (0, 1700000000, "0", "1.5"):
        refused = await client.patch(url, json={"expires_at": expires_at}, headers=owner.headers)
        assert refused.status_code == 422, (expires_at, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", "expires_at"]
    after = (await client.get(url, headers=owner.headers)).json()
    assert after["expires_at"] == created["expires_at"]
    router = await make_router(client, owner)
    for flag in (0, 1, "true", "yes"):
        refused = await client.patch(
            f"/api/v1/routers/{router['id']}", json={"tls_insecure": flag}, headers=owner.headers
        )
        assert refused.status_code == 422, (flag, refused.text)
    refused = await client.patch(url, json={"package_id": True}, headers=owner.headers)
    assert refused.status_code == 422
    listed = await client.get("/api/v1/payments", params={"date_to": "0.5"}, headers=owner.headers)
    assert listed.status_code == 422
    # The right types still go through, and query strings keep their string forms.
    fine = await client.patch(
        url, json={"expires_at": "2030-01-31T18:00:00Z"}, headers=owner.headers
    )
    assert fine.status_code == 200 and fine.json()["expires_at"] == "2030-01-31T18:00:00Z"
    query = {"is_suspended": "false", "router_id": str(router["id"])}
    assert (await client.get("/api/v1/subscribers", params=query, headers=owner.headers)).is_success


async def test_an_unknown_id_in_a_body_is_404_and_a_clash_with_stored_data_409(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """No schema can say which ids exist, nor what a stored subscriber's service is: those
    refusals are 404 and 409 (with the field), never a 422 of a well-formed request."""
    retry = await client.post(
        "/api/v1/subscribers/retry", json={"router_id": 2_000_000_000}, headers=owner.headers
    )
    assert retry.status_code == 404
    assert retry.json()["field"] == "router_id" and "no router" in retry.json()["detail"]
    router = await make_router(client, owner)
    hotspot = await make_package(client, owner, service="hotspot")
    body = {
        "router_id": router["id"],
        "package_id": hotspot["id"],
        "service": "pppoe",
        "username": "clash",
        "password": "Pw-1234",
    }
    clash = await client.post("/api/v1/subscribers", json=body, headers=owner.headers)
    assert clash.status_code == 409 and clash.json()["field"] == "package_id"
    pppoe = await make_subscriber(client, owner)
    static_ip = await client.patch(
        f"/api/v1/subscribers/{pppoe['id']}", json={"static_ip": "10.9.9.9"}, headers=owner.headers
    )
    assert static_ip.status_code == 409 and static_ip.json()["field"] == "static_ip"


async def test_a_pppoe_subscriber_without_password_is_refused_as_the_schema_says(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    schema = await _schema(client)
    rules = schema["components"]["schemas"]["SubscriberCreate"]["allOf"]
    assert rules[0]["if"] == {"properties": {"service": {"const": "static"}}}
    assert "password" in rules[0]["else"]["required"]
    router = await make_router(client, owner)
    package = await make_package(client, owner, service="pppoe")
    body = {"router_id": router["id"], "package_id": package["id"], "service": "pppoe"}
    refused = await client.post(
        "/api/v1/subscribers", json=body | {"username": "nopw"}, headers=owner.headers
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "password"]


# Values on both sides of each rule: the schema's pattern (as JSON schema reads it: ASCII
# classes, `$` at the very end) and the server's check must give the same verdict.
SAMPLES: dict[str, tuple[Any, list[str]]] = {
    "NAME_SCHEMA": (
        value_rules.routeros_name,
        ["alice", "a" * 64, "a" * 65, "", "al ice", "alice\n", "ålice", "x!~"],
    ),
    "PROFILE_NAME_SCHEMA": (
        value_rules.profile_name,
        ["home-10m", "H.1_x", "", "-home", "home 10", "\u0004", "a" * 64, "a" * 65],
    ),
    "RATE_LIMIT_SCHEMA": (
        value_rules.rate_limit,
        [
            "10M/5M",
            "10M/5M 20M/10M 8M/4M 10/10 8 2M/1M",
            "924 0222.5K/56k",
            " 10M ",
            "",
            "10 M/5 M",
            "10M\t5M",
            "\u0661\u0660M",
            "10M/5M 20M 8M 10 9",
        ],
    ),
    "IPV4_SCHEMA": (
        value_rules.ipv4_address,
        ["10.0.0.5", "255.255.255.255", "256.0.0.1", "01.2.3.4", " 10.0.0.5", "10.0.0"],
    ),
    "HOST_SCHEMA": (value_rules.hostname, ["192.0.2.1", "r1.isp.test", "", "a b", " r1"]),
    "EMAIL_SCHEMA": (
        value_rules.email_address,
        ["a@b.co", "A@B.CO", "a@b", " a@b.co", "a b@c.de", "a@b.c\u00a0"],
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_value_rule_and_its_schema_agree(name: str) -> None:
    check, values = SAMPLES[name]
    schema = getattr(value_rules, name)
    pattern = re.compile(schema["pattern"].removesuffix("$") + r"\Z", re.ASCII)
    for value in values:
        by_schema = (
            bool(pattern.search(value))
            and len(value) <= schema.get("maxLength", len(value))
            and len(value) >= schema.get("minLength", 0)
        )
        try:
            check(value)
            by_server = True
        except ValueError:
            by_server = False
        assert by_schema == by_server, (name, value, by_schema, by_server)
