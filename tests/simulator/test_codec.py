"""Golden bytes of the length codec and sentences (ROUTEROS_API.md §2.1, §2.3)."""

from __future__ import annotations

import asyncio

import pytest
from librouteros.protocol import decode_length as lib_decode
from librouteros.protocol import encode_length as lib_encode

from mikrosync.simulator.codec import (
    ControlByteError,
    decode_length,
    encode_length,
    encode_sentence,
    read_sentence,
)

GOLDEN = [
    (0x00, "00"),
    (0x7F, "7f"),
    (0x80, "8080"),
    (0x100, "8100"),
    (0x3FFF, "bfff"),
    (0x4000, "c04000"),
    (0x1FFFFF, "dfffff"),
    (0x200000, "e0200000"),
    (0xFFFFFFF, "efffffff"),
]


@pytest.mark.parametrize(("length", "hexed"), GOLDEN)
def test_length_golden_bytes_both_ways(length: int, hexed: str) -> None:
    assert encode_length(length).hex() == hexed
    assert decode_length(bytes.fromhex(hexed)) == length


@pytest.mark.parametrize(("length", "hexed"), GOLDEN)
def test_length_agrees_with_librouteros(length: int, hexed: str) -> None:
    assert lib_encode(length).hex() == hexed
    assert lib_decode(bytes.fromhex(hexed)) == length


def test_five_byte_form_decodes_but_is_never_encoded() -> None:
    assert decode_length(bytes.fromhex("f010000000")) == 0x10000000
    with pytest.raises(ValueError, match="too long"):
        encode_length(0x10000000)


@pytest.mark.parametrize("byte", [0xF8, 0xFC, 0xFF])
def test_control_bytes_are_rejected(byte: int) -> None:
    with pytest.raises(ControlByteError):
        decode_length(bytes([byte]))


def test_done_with_ret_golden_bytes() -> None:
    expected = "05 21 64 6f 6e 65 08 3d 72 65 74 3d 2a 31 41 00"
    assert encode_sentence(["!done", "=ret=*1A"]) == bytes.fromhex(expected)


def test_login_request_golden_bytes() -> None:
    data = encode_sentence(["/login", "=name=admin", "=password=secret"])
    assert data == b"\x06/login\x0b=name=admin\x10=password=secret\x00"


def _reader(data: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def test_reader_handles_partial_reads_byte_by_byte() -> None:
    data = encode_sentence(["/ppp/secret/print", "x" * 20000])
    reader = asyncio.StreamReader()

    async def trickle() -> None:
        for i in range(0, len(data), 7):
            reader.feed_data(data[i : i + 7])
            await asyncio.sleep(0)
        reader.feed_eof()

    feeder = asyncio.create_task(trickle())
    assert await read_sentence(reader) == ["/ppp/secret/print", "x" * 20000]
    await feeder


async def test_reader_returns_none_on_eof_mid_sentence() -> None:
    assert await read_sentence(_reader(b"\x06/log")) is None
    assert await read_sentence(_reader(b"\x06/login\x0b=name")) is None
    assert await read_sentence(_reader(b"\xc0")) is None


async def test_reader_rejects_control_byte() -> None:
    with pytest.raises(ControlByteError):
        await read_sentence(_reader(b"\x06/login\xf8"))


async def test_reader_keeps_utf8() -> None:
    data = encode_sentence(["=comment=Zürich"])
    assert await read_sentence(_reader(data)) == ["=comment=Zürich"]
