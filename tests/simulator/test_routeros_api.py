"""Conformance with RouterOS-api 0.21.0: tags on every sentence, short-form queries (§2.3)."""

from __future__ import annotations

from typing import Any

import pytest
import routeros_api
from routeros_api.exceptions import RouterOsApiCommunicationError

from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from tests.plugins.simulator import PASSWORD, in_thread


def _with_api(port: int, fn: Any, *, plaintext: bool = True, password: str = PASSWORD) -> Any:
    pool = routeros_api.RouterOsApiPool(
        "127.0.0.1", "admin", password, port=port, plaintext_login=plaintext
    )
    try:
        return fn(pool.get_api())
    finally:
        pool.disconnect()


def _crud(api: Any) -> dict[str, Any]:
    secrets = api.get_resource("/ppp/secret")
    secrets.add(name="alice", password="pw1", service="pppoe")
    secrets.add(name="bob", password="pw2")
    found = secrets.get(name="alice")
    secrets.set(id=found[0]["id"], comment="vip")
    secrets.call("disable", {"numbers": "alice,bob"})
    after = secrets.get()
    secrets.remove(id="*2")
    with pytest.raises(RouterOsApiCommunicationError) as dup:
        secrets.add(name="alice")
    return {"found": found, "after": after, "left": secrets.get(), "dup": dup.value}


async def test_plaintext_login_crud_and_short_queries(sim: SimRouter) -> None:
    result = await in_thread(lambda: _with_api(sim.port, _crud))
    assert [r["name"] for r in result["found"]] == ["alice"]
    assert [(r["name"], r["disabled"]) for r in result["after"]] == [
        ("alice", "true"),
        ("bob", "true"),
    ]
    assert result["after"][0]["comment"] == "vip"
    assert [r["name"] for r in result["left"]] == ["alice"]
    assert b"secret with the same name already exists" in result["dup"].original_message


async def test_empty_results_with_tags(sim: SimRouter) -> None:
    rows = await in_thread(
        lambda: _with_api(sim.port, lambda a: a.get_resource("/ppp/active").get())
    )
    assert rows == []


async def test_legacy_default_login_works_when_enabled() -> None:
    async with running_router(password="pw", legacy_login=True) as legacy:
        ident = await in_thread(
            lambda: _with_api(
                legacy.port, lambda a: a.get_resource("/system/identity").get(), plaintext=False
            )
        )
    assert ident == [{"name": "MikroTik"}]


async def test_legacy_login_refused_by_default(sim: SimRouter) -> None:
    def attempt() -> bytes:
        with pytest.raises(RouterOsApiCommunicationError) as info:
            _with_api(sim.port, lambda a: None, plaintext=False)
        return bytes(info.value.original_message)

    assert await in_thread(attempt) == b"invalid user name or password (6)"


async def test_unknown_command_error(sim: SimRouter) -> None:
    def attempt() -> bytes:
        with pytest.raises(RouterOsApiCommunicationError) as info:
            _with_api(sim.port, lambda a: a.get_resource("/routerboard").get())
        return bytes(info.value.original_message)

    assert b"no such command" in await in_thread(attempt)
