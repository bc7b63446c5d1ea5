"""Conformance with librouteros 4.2.2: both its sync and its async API (§4.2, §5)."""

from __future__ import annotations

from typing import Any

import librouteros
import pytest
from librouteros.exceptions import FatalError, MultiTrapError, TrapError
from librouteros.query import And, Key, Or

from mikrosync.simulator import SimRouter
from tests.plugins.simulator import PASSWORD, collect, in_thread


async def test_async_login_and_identity(api: Any) -> None:
    assert await collect(api, "/system/identity/print") == [{"name": "MikroTik"}]


async def test_async_bad_password_raises_trap(sim: SimRouter) -> None:
    with pytest.raises(TrapError, match=r"invalid user name or password \(6\)"):
        await librouteros.async_connect("127.0.0.1", "admin", "nope", port=sim.port)


async def test_async_legacy_login_with_token_method() -> None:
    from mikrosync.simulator.testing import running_router

    async with running_router(password="pw", legacy_login=True) as legacy:
        api = await librouteros.async_connect(
            "127.0.0.1", "admin", "pw", port=legacy.port, login_method=librouteros.async_token
        )
        assert await collect(api, "/system/identity/print") == [{"name": "MikroTik"}]
        await api.close()


async def test_async_crud_on_secrets(api: Any) -> None:
    secrets = api.path("ppp", "secret")
    new_id = await secrets.add(name="alice", password="pw1", service="pppoe", disabled=False)
    assert new_id == "*1"
    await secrets.update(**{".id": new_id, "password": "pw2", "disabled": True})
    [row] = [r async for r in secrets]
    assert row[".id"] == "*1"
    assert row["password"] == "pw2"
    assert row["disabled"] is True
    await secrets.remove(new_id)
    assert [r async for r in secrets] == []


async def test_async_queries_with_every_operator(api: Any) -> None:
    secrets = api.path("ppp", "secret")
    for i, name in enumerate(("alice", "bob", "carol", "dave")):
        await secrets.add(name=name, service="pppoe" if i % 2 else "l2tp", **{"limit-bytes-in": i})
    name, service = Key("name"), Key("service")

    async def names(*query: Any) -> list[str]:
        return [r["name"] async for r in secrets.select(name).where(*query)]

    assert await names(name == "bob") == ["bob"]
    assert await names(name != "bob") == ["alice", "carol", "dave"]
    assert await names(name.In("alice", "dave")) == ["alice", "dave"]
    assert await names(And(service == "pppoe", name != "bob")) == ["dave"]
    assert await names(Or(name == "alice", service == "pppoe")) == ["alice", "bob", "dave"]
    assert await names(name > "bob", name < "dave") == ["carol"]
    assert await names(Key("limit-bytes-in") > 1) == ["carol", "dave"]
    assert await names(Key("disabled") == False) == ["alice", "bob", "carol", "dave"]  # noqa: E712


async def test_async_select_without_id_and_with_id(api: Any) -> None:
    secrets = api.path("ppp", "secret")
    await secrets.add(name="alice")
    assert [r async for r in secrets.select(Key("name"))] == [{"name": "alice"}]
    rows = [r async for r in secrets.select(Key(".id"), Key("name"))]
    assert rows == [{".id": "*1", "name": "alice"}]


async def test_numeric_names_come_back_as_int(api: Any) -> None:
    await api.path("ppp", "secret").add(name="12345")
    assert [r["name"] async for r in api.path("ppp", "secret")] == [12345]


async def test_unknown_menu_is_multitrap(api: Any) -> None:
    with pytest.raises(MultiTrapError) as info:
        await collect(api, "/routerboard/print")
    assert str(info.value) == "no such command or directory (routerboard), no such command prefix"


async def test_quit_is_fatal(api: Any) -> None:
    with pytest.raises(FatalError, match="session terminated on request"):
        await collect(api, "/quit")


def _sync_conversation(port: int) -> list[Any]:
    api = librouteros.connect("127.0.0.1", "admin", PASSWORD, port=port)
    try:
        secrets = api.path("ppp", "secret")
        new_id = secrets.add(name="alice", password="pw1", profile="default")
        secrets.update(**{".id": new_id, "comment": "hello"})
        rows = list(secrets.select(Key("name"), Key("comment")).where(Key("name") == "alice"))
        with pytest.raises(TrapError) as dup:
            secrets.add(name="alice")
        with pytest.raises(TrapError) as missing:
            secrets.remove("*99")
        secrets.remove(new_id)
        return [new_id, rows, str(dup.value), str(missing.value), list(secrets)]
    finally:
        api.close()


async def test_sync_api_full_conversation(sim: SimRouter) -> None:
    new_id, rows, dup, missing, after = await in_thread(lambda: _sync_conversation(sim.port))
    assert new_id == "*1"
    assert rows == [{"name": "alice", "comment": "hello"}]
    assert dup == "failure: secret with the same name already exists"
    assert missing == "no such item (4)"
    assert after == []


async def test_sync_bad_login_raises_and_closes(sim: SimRouter) -> None:
    def attempt() -> str:
        with pytest.raises(TrapError) as info:
            librouteros.connect("127.0.0.1", "admin", "bad", port=sim.port)
        return str(info.value)

    assert await in_thread(attempt) == "invalid user name or password (6)"


async def test_sync_utf8_comment_with_utf8_encoding(sim: SimRouter) -> None:
    def run() -> Any:
        api = librouteros.connect("127.0.0.1", "admin", PASSWORD, port=sim.port, encoding="utf-8")
        try:
            api.path("ppp", "secret").add(name="z", comment="Zürich")
            return [r["comment"] for r in api.path("ppp", "secret")]
        finally:
            api.close()

    assert await in_thread(run) == ["Zürich"]
