"""RouterOS word injection: text from the API never becomes another word, field or object.

A RouterOS API sentence is a list of length-prefixed words (`=name=value`, `?name=value`,
`/path/command`, `!reply`). A value that holds `=`, `?`, `/`, `!`, a newline, a NUL, non-ASCII
text or 10 KB could, in a careless client, end a word early, add an attribute, turn into a
query or a command, or be cut. For each text field the API takes, each such value must either
be refused with a 422 naming the field, or be stored and reach the router verbatim, in exactly
one field of exactly one object, with nothing else on the router changed.

The rule per field (docs/routeros-client.md, "What text may reach a router"):

- router-bound names and secrets (subscriber username and password, the router's API
  username and password): printable ASCII without spaces, 1-64 characters. `=`, `?`, `/`, `!`
  are fine (RouterOS takes them, and the API's length prefixes carry them); control
  characters (newline, NUL), non-ASCII and longer text are refused.
- profile names (package `profile_name`, tenant `suspension_profile`): letters, digits,
  `.`, `_`, `-`, as mikrosync derives them; everything else is refused.
- text that never reaches a router (full name, phone, address, email, package and router
  names): anything but NUL, up to the field's length; stored verbatim (email lowercased).
- no field becomes a router comment: the comment of every object mikrosync writes is its
  owner tag alone.

The router is the RouterOS simulator over real TCP, the converge is the worker's own
(`converge_subscriber`), and the checks read the simulator's tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mikrosync.routeros.tags import OwnerTag
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from mikrosync.sync.context import SyncContext
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from tests.helpers import RouterSite, make_router, make_subscriber, sync_deps, unique
from tests.plugins.core import Staff

API = "/api/v1"
ROUTER_PASSWORD = "router-pw"

PAYLOADS = {
    "equals": "a=b",
    "attribute": "=disabled=yes",
    "query": "?name=decoy",
    "command": "/ppp/secret/remove",
    "reply": "!done",
    "newline": "line1\nline2",
    "trailing-newline": "decoy\n",
    "nul": "a\x00b",
    "non-ascii": "Zoë-Łódź",
    "10kb": "x" * 10 * 1024,
}
# What RouterOS names and secrets may hold: these reach the router.
ROUTER_SAFE = ("equals", "attribute", "query", "command", "reply")
# Text kept in the database only: everything but NUL fits, up to the field's length.
DATABASE_SAFE = (*ROUTER_SAFE, "newline", "trailing-newline", "non-ascii")
# Foreign objects whose names the payloads aim at; they must stay byte for byte as they are.
DECOYS = ("decoy", "a", "b", "x", "line1", "line2")

Tables = dict[str, dict[str, dict[str, str]]]


class Site(RouterSite):
    deps: SyncContext

    async def converge(self, subscriber_id: int, job: str) -> Outcome:
        return await converge_subscriber(self.deps, subscriber_id, Attempt(job))

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(f"{API}{path}", json=body, headers=self.owner.headers)

    async def patch(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.patch(f"{API}{path}", json=body, headers=self.owner.headers)


@pytest.fixture
async def deps(runtime: Runtime, settings: Settings) -> AsyncIterator[SyncContext]:
    async with sync_deps(runtime, settings, timeout_s=2.0) as built:
        yield built


@pytest.fixture
async def site(client: httpx.AsyncClient, owner: Staff, deps: SyncContext) -> AsyncIterator[Site]:
    """A router with foreign objects named like the payloads' targets, and one subscriber
    already converged (so the package's profile exists before the step under test)."""
    async with running_router(username="admin", password=ROUTER_PASSWORD) as sim:
        built = Site(**await RouterSite.create(client, owner, sim, ROUTER_PASSWORD))
        built.deps = deps
        for name in DECOYS:
            sim.add_row("/ppp/secret", {"name": name, "password": "foreign", "service": "pppoe"})
        sim.add_row("/ppp/profile", {"name": "foreign-profile", "rate-limit": "1M/1M"})
        first = await built.subscriber(username=unique("first"))
        assert await built.converge(first["id"], "addUser") == Outcome.SUCCEEDED
        yield built


def tables(sim: SimRouter) -> Tables:
    """Every configuration table of the router: path -> .id -> row."""
    dump: dict[str, Any] = sim.dump_state()["tables"]
    return {
        path: {str(row[".id"]): dict(row) for row in content["items"]}
        for path, content in dump.items()
    }


def changed_rows(before: Tables, after: Tables) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(path, .id) -> (row before, row after) for every row added, removed or changed."""
    result: dict[tuple[str, str], tuple[Any, Any]] = {}
    for path in before.keys() | after.keys():
        old, new = before.get(path, {}), after.get(path, {})
        for item_id in old.keys() | new.keys():
            if old.get(item_id) != new.get(item_id):
                result[(path, item_id)] = (old.get(item_id), new.get(item_id))
    return result


def holders(state: Tables, value: str) -> list[tuple[str, str, str]]:
    """(path, .id, field) of every field, in every table, whose value contains `value`."""
    return [
        (path, item_id, field)
        for path, rows in state.items()
        for item_id, row in rows.items()
        for field, text in row.items()
        if value in text
    ]


def refused_field(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    return str(problem["loc"][-1])


def owned_by(site: Site, subscriber_id: int) -> str:
    tenant_id = site.owner.tenant_id
    assert tenant_id is not None
    return OwnerTag.subscriber(tenant_id, subscriber_id).render()


def only_its_own_rows_changed(
    site: Site, subscriber_id: int, before: Tables, after: Tables
) -> dict[tuple[str, str], tuple[Any, Any]]:
    """The rows the step changed, after checking each carries the subscriber's owner tag."""
    changes = changed_rows(before, after)
    tag = owned_by(site, subscriber_id)
    for key, (old, new) in changes.items():
        comments = {row.get("comment") for row in (old, new) if row is not None}
        assert comments == {tag}, (key, old, new)
    return changes


# -- router-bound: the subscriber's username and password ---------------------------------


@pytest.mark.parametrize("payload", ROUTER_SAFE)
async def test_a_username_reaches_the_router_verbatim_through_its_whole_life(
    site: Site, payload: str
) -> None:
    """Create, suspend, delete: the name is one `=name=` word (and one `?name=` query word)
    every time; no decoy, no other login, no other field moves."""
    username = PAYLOADS[payload]
    before = tables(site.sim)
    response = await site.post(
        "/subscribers",
        {
            "router_id": site.router["id"],
            "package_id": site.packages["pppoe"]["id"],
            "service": "pppoe",
            "username": username,
            "password": "svc-pw",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["username"] == username
    assert await site.converge(created["id"], "addUser") == Outcome.SUCCEEDED
    after = tables(site.sim)

    changes = only_its_own_rows_changed(site, created["id"], before, after)
    [(path, item_id)] = changes
    assert path == "/ppp/secret" and changes[(path, item_id)][0] is None  # one row, added
    row = after[path][item_id]
    assert row["name"] == username and row["password"] == "svc-pw"
    assert row["profile"] == site.packages["pppoe"]["profile_name"]
    assert row["comment"] == owned_by(site, created["id"])
    assert holders(after, username) == [(path, item_id, "name")]
    assert (await site.status(created["id"]))["sync_status"] == "synced"

    await site.call("POST", f"/subscribers/{created['id']}/suspend")
    assert await site.converge(created["id"], "disconnectUser") == Outcome.SUCCEEDED
    suspended = tables(site.sim)
    changes = only_its_own_rows_changed(site, created["id"], after, suspended)
    assert changes.pop((path, item_id)) == (row, row | {"disabled": "true"})
    assert all(old is None for old, _ in changes.values())  # e.g. a block-list entry, tagged
    assert holders(suspended, username) == [(path, item_id, "name")]

    await site.call("DELETE", f"/subscribers/{created['id']}")
    assert await site.converge(created["id"], "removeUser") == Outcome.REMOVED
    assert tables(site.sim) == before  # its rows gone, every other row as it was


@pytest.mark.parametrize("payload", ROUTER_SAFE)
async def test_a_password_reaches_the_router_verbatim_on_create_and_change(
    site: Site, payload: str
) -> None:
    password = PAYLOADS[payload]
    created = await site.subscriber(username=unique("pw"), password=password)
    assert await site.converge(created["id"], "addUser") == Outcome.SUCCEEDED
    state = tables(site.sim)
    [(path, item_id, field)] = holders(state, password)
    assert (path, field) == ("/ppp/secret", "password")
    row = state[path][item_id]
    assert row["name"] == created["username"]

    changed_to = password + "2"
    answer = await site.patch(f"/subscribers/{created['id']}", {"password": changed_to})
    assert answer.status_code == 200, answer.text
    assert await site.converge(created["id"], "updateUser") == Outcome.SUCCEEDED
    after = tables(site.sim)
    changes = only_its_own_rows_changed(site, created["id"], state, after)
    assert changes == {(path, item_id): (row, row | {"password": changed_to})}


@pytest.mark.parametrize("payload", sorted(set(PAYLOADS) - set(ROUTER_SAFE)))
@pytest.mark.parametrize("field", ["username", "password"])
async def test_unsafe_router_names_and_secrets_are_refused_naming_the_field(
    site: Site, field: str, payload: str
) -> None:
    """Newline, NUL, non-ASCII or 10 KB in a login's name or password: a 422 at the API,
    on create and on change, and the router never hears of it."""
    before = tables(site.sim)
    body = {
        "router_id": site.router["id"],
        "package_id": site.packages["pppoe"]["id"],
        "service": "pppoe",
        "username": unique("u"),
        "password": "svc-pw",
    } | {field: PAYLOADS[payload]}
    assert refused_field(await site.post("/subscribers", body)) == field
    if field == "password":
        existing = await site.subscriber(username=unique("p"))
        patched = await site.patch(f"/subscribers/{existing['id']}", {field: PAYLOADS[payload]})
        assert refused_field(patched) == field
        assert (await site.status(existing["id"]))["desired_version"] == 1
    assert tables(site.sim) == before


# -- router-bound: the router's own API login ---------------------------------------------


@pytest.mark.parametrize("payload", ROUTER_SAFE)
async def test_the_routers_api_login_words_carry_the_name_and_password_verbatim(
    client: httpx.AsyncClient, owner: Staff, deps: SyncContext, payload: str
) -> None:
    """The `/login` sentence's `=name=` and `=password=` words: a router whose API user and
    password hold the payload accepts mikrosync's login (the simulator compares them as
    typed) and the converge goes through."""
    secret = PAYLOADS[payload]
    async with running_router(username=secret, password=secret) as sim:
        router = await make_router(
            client, owner, host=sim.host, port=sim.port, username=secret, password=secret
        )
        built = await RouterSite.create(client, owner, sim, secret)
        site = Site(**(built | {"router": router}))
        site.deps = deps
        created = await site.subscriber(username=unique("login"))
        assert await site.converge(created["id"], "addUser") == Outcome.SUCCEEDED
        assert [row["name"] for row in sim.rows("/ppp/secret")] == [created["username"]]


@pytest.mark.parametrize("payload", sorted(set(PAYLOADS) - set(ROUTER_SAFE)))
@pytest.mark.parametrize("field", ["username", "password"])
async def test_unsafe_router_api_logins_are_refused_naming_the_field(
    site: Site, field: str, payload: str
) -> None:
    body = {"name": unique("r"), "host": "192.0.2.1", "username": "api", "password": "pw"}
    assert refused_field(await site.post("/routers", body | {field: PAYLOADS[payload]})) == field
    patched = await site.patch(f"/routers/{site.router['id']}", {field: PAYLOADS[payload]})
    assert refused_field(patched) == field


# -- router-bound: profile names ------------------------------------------------------------


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
async def test_profile_names_hold_only_what_mikrosync_derives(site: Site, payload: str) -> None:
    """A package's `profile_name` and the tenant's `suspension_profile` are RouterOS profile
    names: letters, digits, '.', '_', '-'. Every payload is a 422 naming the field."""
    before = tables(site.sim)
    body = {"name": unique("pkg"), "service": "pppoe", "rate_limit": "1M/1M"}
    created = await site.post("/packages", body | {"profile_name": PAYLOADS[payload]})
    assert refused_field(created) == "profile_name"
    package_id = site.packages["pppoe"]["id"]
    patched = await site.patch(f"/packages/{package_id}", {"profile_name": PAYLOADS[payload]})
    assert refused_field(patched) == "profile_name"
    settings = await site.patch("/tenant/settings", {"suspension_profile": PAYLOADS[payload]})
    assert refused_field(settings) == "suspension_profile"
    assert tables(site.sim) == before


# -- text that stays in the database --------------------------------------------------------

CONTACT_LIMITS = {"full_name": 200, "phone": 50, "address": 500}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
async def test_contact_fields_are_stored_verbatim_and_never_reach_the_router(
    site: Site, payload: str
) -> None:
    """full_name, phone, address and email: stored as given (email lowercased), refused
    only for a NUL or past the field's length; the router gets the login and nothing else:
    no field becomes a comment (the comment is the owner tag alone)."""
    text = PAYLOADS[payload]
    email = f"{text}@isp.test"
    body: dict[str, Any] = {}
    for field, limit in CONTACT_LIMITS.items():
        probe = await site.post(
            "/subscribers",
            {
                "router_id": site.router["id"],
                "package_id": site.packages["pppoe"]["id"],
                "service": "pppoe",
                "username": unique("probe"),
                "password": "svc-pw",
                field: text,
            },
        )
        if payload in DATABASE_SAFE and len(text) <= limit:
            assert probe.status_code == 201, (field, probe.text)
            assert probe.json()[field] == text
            body[field] = text
        else:
            assert refused_field(probe) == field
    email_ok = payload in DATABASE_SAFE and "\n" not in text
    if email_ok:
        body["email"] = email
    else:
        existing = await site.subscriber(username=unique("mail"))
        patched = await site.patch(f"/subscribers/{existing['id']}", {"email": email})
        assert refused_field(patched) == "email"
    if not body:
        return

    before = tables(site.sim)
    created = await site.subscriber(username=unique("contact"), **body)
    stored = await site.status(created["id"])
    for field, value in body.items():
        assert stored[field] == (value.lower() if field == "email" else value), field
    assert await site.converge(created["id"], "addUser") == Outcome.SUCCEEDED
    after = tables(site.sim)
    changes = only_its_own_rows_changed(site, created["id"], before, after)
    [((path, _), (old, row))] = changes.items()
    assert path == "/ppp/secret" and old is None
    assert row["comment"] == owned_by(site, created["id"])
    for value in body.values():
        assert holders(after, value) == [] and holders(after, value.lower()) == []


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
async def test_package_and_router_names_stay_in_the_database(site: Site, payload: str) -> None:
    """Names of packages and routers are mikrosync's own labels: stored verbatim (up to 100
    characters, no NUL). A package's router profile is named from a slug of it, never the
    name itself."""
    text = PAYLOADS[payload]
    accepted = payload in DATABASE_SAFE
    before = tables(site.sim)
    router = await site.post(
        "/routers", {"name": text, "host": "192.0.2.1", "username": "api", "password": "pw"}
    )
    package = await site.post(
        "/packages", {"name": text, "service": "pppoe", "rate_limit": "3M/3M"}
    )
    if not accepted:
        assert refused_field(router) == "name" and refused_field(package) == "name"
        return
    assert router.status_code == 201 and router.json()["name"] == text, router.text
    assert package.status_code == 201 and package.json()["name"] == text, package.text
    profile = package.json()["profile_name"]
    assert profile and all(c.isascii() and (c.isalnum() or c in "._-") for c in profile)

    created = await make_subscriber(
        site.client,
        site.owner,
        router_id=site.router["id"],
        package_id=package.json()["id"],
        username=unique("pkg"),
    )
    assert await site.converge(created["id"], "addUser") == Outcome.SUCCEEDED
    after = tables(site.sim)
    new_rows = {key: new for key, (old, new) in changed_rows(before, after).items() if old is None}
    assert {path for path, _ in new_rows} == {"/ppp/secret", "/ppp/profile"}
    [profile_row] = [row for (path, _), row in new_rows.items() if path == "/ppp/profile"]
    assert profile_row["name"] == profile and profile_row["rate-limit"] == "3M/3M"
    assert holders(after, text) == []
