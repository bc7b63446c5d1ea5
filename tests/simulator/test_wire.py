"""Byte-level conversations: captured sentences of §2.3 and the reply rules of §4."""

from __future__ import annotations

import asyncio

from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from tests.plugins.simulator import RawClient


async def test_captured_login_bytes_get_captured_reply(sim: SimRouter) -> None:
    client = await RawClient.open(sim, login=False)
    await client.send_bytes(b"\x06/login\x0b=name=admin\x0c=password=pw\x00")
    assert await client.read_raw(7) == bytes.fromhex("05 21 64 6f 6e 65 00")
    await client.close()


async def test_captured_add_reply_bytes(raw: RawClient) -> None:
    await raw.send_bytes(
        b"\x0f/ppp/secret/add\x0b=name=alice\x0d=password=pw1\x0e=service=pppoe"
        b"\x10=profile=default\x0c=disabled=no\x00"
    )
    assert await raw.read_raw(15) == bytes.fromhex("05 21 64 6f 6e 65 07 3d 72 65 74 3d 2a 31 00")


async def test_captured_print_row_words(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=alice", "=password=pw1", "=service=pppoe")
    await raw.send_bytes(b"\x11/ppp/secret/print\x00")
    reply = await raw.reply()
    assert reply[0][:2] == ["!re", "=.id=*1"]
    assert {"=name=alice", "=service=pppoe", "=password=pw1", "=profile=default"} <= set(reply[0])
    assert "=disabled=false" in reply[0]
    assert reply[1] == ["!done"]


async def test_captured_query_and_remove_bytes(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=alice")
    await raw.call("/ppp/secret/add", "=name=bob")
    await raw.send_bytes(b"\x11/ppp/secret/print\x17=.proplist=name,profile\x0c?=name=alice\x00")
    assert await raw.reply() == [["!re", "=name=alice", "=profile=default"], ["!done"]]
    await raw.send_bytes(b"\x12/ppp/secret/remove\x0a=.id=*1,*2\x00")
    assert await raw.read_raw(7) == b"\x05!done\x00"


async def test_unknown_menu_trap_bytes(raw: RawClient) -> None:
    await raw.send("/routerboard/print")
    expected = (
        b"\x05!trap\x0b=category=0\x33=message=no such command or directory (routerboard)"
        b"\x00\x05!trap\x1f=message=no such command prefix\x00\x05!done\x00"
    )
    assert await raw.read_raw(len(expected)) == expected


async def test_quit_is_fatal_with_captured_bytes_then_close(raw: RawClient) -> None:
    await raw.send("/quit")
    assert await raw.read_raw(38) == b"\x06!fatal\x1dsession terminated on request\x00"
    assert await raw.at_eof()


async def test_command_before_login_is_fatal(sim: SimRouter) -> None:
    client = await RawClient.open(sim, login=False)
    assert await client.call("/ppp/secret/print") == [["!fatal", "not logged in"]]
    assert await client.at_eof()
    await client.close()


async def test_bad_login_traps_and_keeps_connection(sim: SimRouter) -> None:
    client = await RawClient.open(sim, login=False)
    reply = await client.call("/login", "=name=admin", "=password=wrong")
    assert reply == [["!trap", "=message=invalid user name or password (6)"], ["!done"]]
    assert await client.call("/login", "=name=admin", "=password=pw") == [["!done"]]
    await client.close()


async def test_control_byte_gets_fatal(raw: RawClient) -> None:
    await raw.send_bytes(b"\xf8")
    sentence = await raw.sentence()
    assert sentence is not None
    assert sentence[0] == "!fatal"
    assert await raw.at_eof()


async def test_tag_echoed_on_every_sentence_only_when_sent(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=alice")
    tagged = await raw.call("/ppp/secret/print", ".tag=7")
    assert all(s[-1] == ".tag=7" for s in tagged)
    trapped = await raw.call("/ppp/secret/set", "=.id=*9", "=comment=x", ".tag=abc")
    assert trapped == [
        ["!trap", "=category=0", "=message=no such item (4)", ".tag=abc"],
        ["!done", ".tag=abc"],
    ]
    untagged = await raw.call("/ppp/secret/print")
    assert not any(w.startswith(".tag") for s in untagged for w in s)


async def test_empty_print_sends_empty_on_7_18(raw: RawClient) -> None:
    assert await raw.call("/ppp/secret/print") == [["!empty"], ["!done"]]
    assert await raw.call("/ppp/secret/print", ".tag=3") == [
        ["!empty", ".tag=3"],
        ["!done", ".tag=3"],
    ]


async def test_no_empty_word_before_7_18() -> None:
    async with running_router(password="pw", version="6.49") as old:
        client = await RawClient.open(old)
        assert await client.call("/ppp/secret/print") == [["!done"]]
        await client.close()


async def test_empty_sentences_are_ignored(raw: RawClient) -> None:
    await raw.send_bytes(b"\x00\x00")
    assert await raw.call("/system/identity/print") == [["!re", "=name=MikroTik"], ["!done"]]


async def test_eof_mid_sentence_does_not_hurt_the_router(sim: SimRouter) -> None:
    client = await RawClient.open(sim)
    await client.send_bytes(b"\x11/ppp/secret/pr")
    await client.close()
    other = await RawClient.open(sim)
    assert await other.call("/system/identity/print") == [["!re", "=name=MikroTik"], ["!done"]]
    await other.close()


async def test_request_split_into_tiny_writes(raw: RawClient) -> None:
    data = b"\x16/system/identity/print\x00"
    for i in range(len(data)):
        await raw.send_bytes(data[i : i + 1])
        await asyncio.sleep(0)
    assert await raw.reply() == [["!re", "=name=MikroTik"], ["!done"]]


async def test_attribute_without_value_and_values_with_equals(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=alice", "=comment=a=b=c")
    assert await raw.call("/ppp/secret/print", "=detail", "=.proplist=comment") == [
        ["!re", "=comment=a=b=c"],
        ["!done"],
    ]


async def test_count_only_returns_ret(raw: RawClient) -> None:
    for name in ("a", "b", "c"):
        await raw.call("/ppp/secret/add", f"=name={name}")
    assert await raw.call("/ppp/secret/print", "=count-only=", "?#") == [["!done", "=ret=3"]]
    assert await raw.call("/ppp/secret/print", "=count-only=", "?name=b") == [["!done", "=ret=1"]]


async def test_utf8_comment_round_trips(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=alice", "=comment=Zürich ✓")
    reply = await raw.call("/ppp/secret/print", "=.proplist=comment")
    assert reply[0] == ["!re", "=comment=Zürich ✓"]


async def test_legacy_challenge_login() -> None:
    import hashlib

    async with running_router(password="pw", legacy_login=True) as legacy:
        client = await RawClient.open(legacy, login=False)
        [[done, ret]] = await client.call("/login")
        challenge = bytes.fromhex(ret.removeprefix("=ret="))
        assert done == "!done"
        assert len(challenge) == 16
        digest = "00" + hashlib.md5(b"\x00pw" + challenge, usedforsecurity=False).hexdigest()
        assert await client.call("/login", "=name=admin", f"=response={digest}") == [["!done"]]
        await client.close()
