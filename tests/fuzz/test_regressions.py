"""What the API fuzzing found, each reproduced with a plain request (both databases).

Bugs 1-5 of docs/chaos.md ("API fuzzing") are fixed; these tests keep them fixed. A new bug's
test is marked `xfail(strict=True)` until its fix lands (it then XPASSes and the mark goes),
with an entry in `OPEN_BUGS` of test_fuzz.py meanwhile.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mikrosync.app import create_app
from mikrosync.settings import Settings
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import PASSWORD, Staff

API = "/api/v1"
# Past PostgreSQL's INTEGER (2**31 - 1) and past SQLite's (2**63 - 1).
HUGE_IDS = (2**31, 2**63)


def _requests(huge: int, real: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx keyword arguments) that carry one out-of-range id each."""
    body = {"service": "pppoe", "username": "huge", "password": "pw"}
    return [
        ("GET", f"/routers/{huge}", {}),
        ("GET", f"/packages/{huge}", {}),
        ("GET", f"/subscribers/{huge}", {}),
        ("GET", f"/subscribers/{huge}/events", {}),
        ("POST", f"/subscribers/{huge}/suspend", {}),
        ("GET", f"/routers/{huge}/reconcile-runs", {}),
        ("GET", f"/routers/{real['router_id']}/reconcile-runs/{huge}", {}),
        ("GET", "/subscribers", {"params": {"package_id": huge}}),
        ("GET", "/subscribers", {"params": {"router_id": huge}}),
        ("POST", "/subscribers/retry", {"json": {"router_id": huge}}),
        ("POST", "/subscribers", {"json": body | {"router_id": huge, "package_id": 1}}),
        (
            "PATCH",
            f"/subscribers/{real['subscriber_id']}",
            {"json": {"package_id": huge}},
        ),
        (
            "POST",
            "/subscribers/import",
            {
                "params": {"router_id": huge},
                "content": b"username,password,package\n",
                "headers": {"Content-Type": "text/csv"},
            },
        ),
    ]


@pytest.mark.parametrize("huge", HUGE_IDS)
async def test_ids_outside_the_database_range_are_refused_as_invalid(
    client: httpx.AsyncClient, owner: Staff, huge: int
) -> None:
    """Fuzz bug 1: ids past the INTEGER columns' range reached the driver (a 500). Fixed by
    the bounded `Id` type (request_schema.py) on every id in paths, queries and bodies."""
    created = await make_subscriber(client, owner)
    real = {"router_id": created["router_id"], "subscriber_id": created["id"]}
    answers = await _answers(client, owner, _requests(huge, real))
    assert set(answers.values()) == {422}, answers


async def _answers(
    client: httpx.AsyncClient, owner: Staff, requests: list[tuple[str, str, dict[str, Any]]]
) -> dict[str, int | str]:
    """Each request's status code, or the exception the app raised (a 500 behind a server)."""
    answers: dict[str, int | str] = {}
    for method, path, kwargs in requests:
        headers = owner.headers | kwargs.pop("headers", {})
        try:
            response = await client.request(method, f"{API}{path}", headers=headers, **kwargs)
            answers[f"{method} {path}"] = response.status_code
        except Exception as exc:
            answers[f"{method} {path}"] = type(exc).__name__
    return answers


async def test_reconcile_of_an_unreachable_router_is_a_failed_run_not_a_server_error(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """Fuzz bug 2: this answered 502. Fixed: the stored `failed` run, with 200."""
    router = await make_router(client, owner, host="127.0.0.1", port=1)
    response = await client.post(f"{API}/routers/{router['id']}/reconcile", headers=owner.headers)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "failed" and "cannot read router" in run["error"]


async def test_import_refusals_have_the_documented_422_shape(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """Fuzz bug 3: `detail` was a string. Fixed: InvalidInput('file', ...), the one 422 shape.
    Since issue 14 only a body that is not a CSV file at all (another content type) is a 422:
    an empty or non-UTF-8 file is reported in the 200 report (tests/api/test_import_api.py)."""
    router = await make_router(client, owner)
    response = await client.post(
        f"{API}/subscribers/import",
        params={"router_id": router["id"]},
        content=b"a,b\n",
        headers=owner.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert detail[0]["loc"][-1] == "file" and detail[0]["msg"]


# The status codes the fuzzer saw each operation answer that its OpenAPI entry does not list
# (besides 400, which FastAPI itself answers for a body that is not JSON at all).
UNDOCUMENTED: dict[str, tuple[int, ...]] = {
    "POST /api/v1/auth/token": (401, 429),
    "GET /api/v1/tenants": (403,),
    "POST /api/v1/tenants": (403,),
    "POST /api/v1/tenants/{tenant_id}/users": (403, 404),
    "GET /api/v1/users": (403,),
    "POST /api/v1/users": (403, 409),
    "PATCH /api/v1/tenant/settings": (403,),
    "POST /api/v1/routers": (403, 409),
    "GET /api/v1/routers/{router_id}": (404,),
    "PATCH /api/v1/routers/{router_id}": (403, 404, 409),
    "DELETE /api/v1/routers/{router_id}": (403, 404, 409),
    "POST /api/v1/routers/{router_id}/reconcile": (403, 404),
    "GET /api/v1/routers/{router_id}/reconcile-runs": (404,),
    "GET /api/v1/routers/{router_id}/reconcile-runs/{run_id}": (404,),
    "POST /api/v1/packages": (403, 409),
    "GET /api/v1/packages/{package_id}": (404,),
    "PATCH /api/v1/packages/{package_id}": (403, 404, 409),
    "DELETE /api/v1/packages/{package_id}": (403, 404, 409),
    "POST /api/v1/subscribers": (403, 409),
    "POST /api/v1/subscribers/import": (403, 413),
    "POST /api/v1/subscribers/retry": (403,),
    "GET /api/v1/subscribers/{subscriber_id}": (404,),
    "PATCH /api/v1/subscribers/{subscriber_id}": (403, 404, 409),
    "DELETE /api/v1/subscribers/{subscriber_id}": (403, 404),
    "GET /api/v1/subscribers/{subscriber_id}/events": (404,),
    "POST /api/v1/subscribers/{subscriber_id}/suspend": (403, 404, 409),
    "POST /api/v1/subscribers/{subscriber_id}/connect": (403, 404, 409),
    "POST /api/v1/subscribers/{subscriber_id}/renew": (403, 404, 409),
    "POST /api/v1/subscribers/{subscriber_id}/retry": (403, 404),
}


async def test_error_answers_are_documented(client: httpx.AsyncClient) -> None:
    """Fuzz finding 4: only 2xx and 422 were documented. Fixed by `api/responses.py` (the
    routers' `responses=`): every error the fuzzer saw is documented, with the real body."""
    spec = (await client.get("/openapi.json")).json()
    missing = {}
    for label, codes in UNDOCUMENTED.items():
        method, path = label.split(" ", 1)
        documented = spec["paths"][path][method.lower()]["responses"]
        absent = [code for code in codes if str(code) not in documented]
        if absent:
            missing[label] = absent
        for code in set(codes) - set(absent):
            schema = documented[str(code)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (label, code, schema)
    assert not missing, missing
    error_body = spec["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["detail"]
    assert error_body["properties"]["detail"]["type"] == "string"


async def test_a_body_that_cannot_be_parsed_is_a_documented_400(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """Found by the fuzzer after finding 4 was fixed: FastAPI itself answers 400 to a body it
    cannot parse (JSON that is not UTF-8, a broken multipart), before any route runs; now
    documented on every operation that takes a body, with the ErrorBody schema."""
    spec = (await client.get("/openapi.json")).json()
    with_body = [
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 10
    for method, path in with_body:
        documented = spec["paths"][path][method]["responses"]["400"]
        schema = documented["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    response = await client.post(
        f"{API}/routers",
        content=b"\xbb*\xf4\x90",
        headers=owner.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


async def test_every_api_answer_names_its_problem_in_detail(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """The shape the documentation promises (ErrorBody): `{"detail": "..."}` for 404 and 409."""
    package = await make_package(client, owner)
    await make_subscriber(client, owner, package_id=package["id"])
    viewer_free = await client.get(f"{API}/routers/123456", headers=owner.headers)
    in_use = await client.delete(f"{API}/packages/{package['id']}", headers=owner.headers)
    for response, code in ((viewer_free, 404), (in_use, 409)):
        assert response.status_code == code
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def _nul_requests(real: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests that carry a NUL character in one text field each."""
    router = {"name": "r\x00", "host": "192.0.2.1", "username": "a", "password": "p"}
    package = {"name": "p\x00", "service": "pppoe", "rate_limit": "1M/1M"}
    user = {"email": "a\x00@isp.test", "password": "Long-enough-1", "role": "viewer"}
    return [
        ("POST", "/auth/token", {"data": {"username": "\x00", "password": "x"}}),
        ("GET", "/subscribers", {"params": {"q": "a\x00"}}),
        ("POST", "/routers", {"json": router}),
        ("POST", "/packages", {"json": package}),
        ("PATCH", f"/subscribers/{real['subscriber_id']}", {"json": {"full_name": "Ada\x00"}}),
        ("POST", "/users", {"json": user}),
    ]


async def test_a_nul_character_in_text_is_refused_as_invalid(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """Fuzz bug 5: PostgreSQL refused the NUL (a 500). Fixed by RequestModel (every request
    model) and refuse_nul on the token endpoint's form: a 422."""
    created = await make_subscriber(client, owner)
    answers = await _answers(client, owner, _nul_requests({"subscriber_id": created["id"]}))
    assert set(answers.values()) == {422}, answers


async def test_the_console_login_refuses_a_nul_as_the_token_endpoint_does(
    settings: Settings, owner: Staff
) -> None:
    """Bug 5 on the web console's login form (not in the OpenAPI, so not fuzzed): a NUL in
    the email reached PostgreSQL (a 500). Now a 422 with the error beside the field, and
    nothing counted against the login throttle."""
    app = create_app(settings)
    # Not the address tests/security/test_transport.py sprays failed logins from (its throttle).
    transport = httpx.ASGITransport(app=app, client=("192.0.2.78", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            page = (await http.get("/login")).text
            found = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert found
            token = found.group(1)
            for form in (
                {"email": owner.email + "\x00", "password": PASSWORD},
                {"email": owner.email, "password": PASSWORD + "\x00"},
            ):
                refused = await http.post("/login", data=form | {"csrf_token": token})
                assert refused.status_code == 422, refused.text
                assert "NUL character" in refused.text
                assert "\x00" not in refused.text
            welcome = await http.post(
                "/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token}
            )
            assert welcome.status_code == 303, welcome.text
    finally:
        await app.state.runtime.close()


# Found by the fuzz run once bug 2 no longer hid the reconcile answers: a router whose stored
# TLS trust cannot be built (a fingerprint that is not one, or a fingerprint and "insecure"
# both) made every connection to it raise ValueError: a 500 on reconcile, a crash in jobs.
NOT_A_FINGERPRINT = "F:Ac0ED:c:E2cc2E:Ed9661cD5:7:bEE9a0B3F5f1f6cAC947c:35A23:0b5A7Ebe"
FINGERPRINT = "AB:" * 31 + "AB"


def _field_of(response: httpx.Response) -> str:
    """The field a 422 names, or a 409's: a mode that clashes with the stored one (issue 14)."""
    if response.status_code == 409:
        return str(response.json()["field"])
    assert response.status_code == 422, response.text
    return str(response.json()["detail"][0]["loc"][-1])


async def test_a_fingerprint_that_is_not_sha256_is_refused(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """The pattern alone (64-95 of hex digits and ':') let it through: the fingerprint
    must be 64 hex digits once the colons are gone."""
    created = await client.post(
        f"{API}/routers",
        json={"name": "fp", "host": "192.0.2.1", "username": "a", "password": "p"}
        | {"tls_fingerprint": NOT_A_FINGERPRINT},
        headers=owner.headers,
    )
    assert _field_of(created) == "tls_fingerprint"
    router = await make_router(client, owner, host="127.0.0.1", port=1)
    patched = await client.patch(
        f"{API}/routers/{router['id']}",
        json={"tls_fingerprint": NOT_A_FINGERPRINT},
        headers=owner.headers,
    )
    assert _field_of(patched) == "tls_fingerprint"
    good = await client.patch(
        f"{API}/routers/{router['id']}",
        json={"tls_fingerprint": FINGERPRINT},
        headers=owner.headers,
    )
    assert good.status_code == 200 and good.json()["tls_fingerprint"] == FINGERPRINT
    run = await client.post(f"{API}/routers/{router['id']}/reconcile", headers=owner.headers)
    assert run.status_code == 200 and run.json()["status"] == "failed"


async def test_a_patch_never_stores_both_trust_modes(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    """RouterCreate refused both at once; PATCH did not (in one body, or one mode per PATCH)."""
    router = await make_router(client, owner, host="127.0.0.1", port=1)
    url = f"{API}/routers/{router['id']}"
    both = {"tls_fingerprint": FINGERPRINT, "tls_insecure": True}
    answer = await client.patch(url, json=both, headers=owner.headers)
    assert answer.status_code == 422 and "not both" in answer.json()["detail"][0]["msg"]
    # One body with both breaks the schema (422); one mode against the stored one is a 409.
    pinned = await client.patch(url, json={"tls_fingerprint": FINGERPRINT}, headers=owner.headers)
    assert pinned.status_code == 200
    insecure = await client.patch(url, json={"tls_insecure": True}, headers=owner.headers)
    assert _field_of(insecure) == "tls_insecure"
    # Switching modes in one PATCH is fine: clear the pin and go insecure.
    switched = await client.patch(
        url, json={"tls_fingerprint": None, "tls_insecure": True}, headers=owner.headers
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["tls_fingerprint"] is None and switched.json()["tls_insecure"] is True
    pin_again = await client.patch(
        url, json={"tls_fingerprint": FINGERPRINT}, headers=owner.headers
    )
    assert _field_of(pin_again) == "tls_fingerprint"
    stored = (await client.get(url, headers=owner.headers)).json()
    assert stored["tls_fingerprint"] is None and stored["tls_insecure"] is True


@pytest.mark.parametrize("page", [2**31, 184467440737095518])
async def test_a_page_past_any_offset_is_refused_as_invalid(
    client: httpx.AsyncClient, owner: Staff, page: int
) -> None:
    """Found by the full fuzz profile: `?page=184467440737095518` made an OFFSET past the
    64-bit range, which the driver refused (a 500 on both databases). Page numbers are now
    bounded like ids (`Page`): a 422 naming `page`."""
    created = await make_subscriber(client, owner)
    for path in ("/subscribers", f"/routers/{created['router_id']}/reconcile-runs"):
        try:
            response = await client.get(
                f"{API}{path}", params={"page": page}, headers=owner.headers
            )
        except Exception as exc:  # what a server answers with a 500
            pytest.fail(f"{path}: {type(exc).__name__}: {exc}")
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"][-1] == "page"
    last = await client.get(
        f"{API}/subscribers", params={"page": 2**31 - 1, "per_page": 500}, headers=owner.headers
    )
    assert last.status_code == 200 and last.json()["items"] == []
