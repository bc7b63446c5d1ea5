"""Server-side codec of the RouterOS API wire format (ROUTEROS_API.md §2.1).

A word is a length prefix plus that many bytes; a sentence is words ended by an empty word.
This module is written from the spec, not borrowed from librouteros, so that a bug in one
cannot hide the same bug in the other: golden-byte tests pin both directions.

Callers: `connection.py` reads requests with `read_sentence` and writes replies with
`encode_sentence`. Nothing here knows about commands or replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

__all__ = [
    "ControlByteError",
    "decode_length",
    "encode_length",
    "encode_sentence",
    "encode_word",
    "read_sentence",
]

MAX_ENCODABLE = 0x0FFFFFFF
"""Largest length we emit: librouteros cannot decode the 5-byte form (§2.1)."""


class ControlByteError(ValueError):
    """The first length byte was a reserved control byte (>= 0xF8); the connection must end."""


def encode_length(length: int) -> bytes:
    """Encode a word length in the 1 to 4 byte forms; longer words are refused on purpose."""
    if length < 0:
        raise ValueError(f"negative length {length}")
    if length < 0x80:
        return length.to_bytes(1, "big")
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length <= MAX_ENCODABLE:
        return (length | 0xE0000000).to_bytes(4, "big")
    raise ValueError(f"word of {length} bytes is too long for RouterOS API clients")


def length_size(first: int) -> int:
    """How many bytes (including `first`) the length prefix starting with `first` occupies."""
    if first < 0x80:
        return 1
    if first < 0xC0:
        return 2
    if first < 0xE0:
        return 3
    if first < 0xF0:
        return 4
    if first < 0xF8:
        return 5
    raise ControlByteError(f"reserved control byte 0x{first:02x}")


_MASKS = {1: 0x7F, 2: 0x3FFF, 3: 0x1FFFFF, 4: 0x0FFFFFFF}


def decode_length(prefix: bytes) -> int:
    """Decode a complete length prefix (all 5 forms; the 5-byte one is `0xF0` + 4 bytes)."""
    size = length_size(prefix[0])
    if len(prefix) != size:
        raise ValueError(f"length prefix needs {size} bytes, got {len(prefix)}")
    if size == 5:
        return int.from_bytes(prefix[1:], "big")
    return int.from_bytes(prefix, "big") & _MASKS[size]


def encode_word(word: str | bytes) -> bytes:
    """Length-prefix one word; text is UTF-8 so non-ASCII values are returned as stored."""
    raw = word.encode("utf-8", "surrogateescape") if isinstance(word, str) else word
    return encode_length(len(raw)) + raw


def encode_sentence(words: Iterable[str | bytes]) -> bytes:
    """Encode words plus the terminating empty word."""
    return b"".join(encode_word(word) for word in words) + b"\x00"


async def _read_word(reader: asyncio.StreamReader) -> bytes | None:
    """One word, or None on EOF (at any point: clients may vanish mid-sentence, §1)."""
    try:
        first = await reader.readexactly(1)
        rest = length_size(first[0]) - 1
        prefix = first + (await reader.readexactly(rest) if rest else b"")
        return await reader.readexactly(decode_length(prefix))
    except asyncio.IncompleteReadError:
        return None


async def read_sentence(reader: asyncio.StreamReader) -> list[str] | None:
    """Read one sentence; None means the peer closed (or reset) the connection.

    `readexactly` makes partial TCP reads invisible. Bytes that are not UTF-8 are kept via
    surrogate escapes rather than dropped. Raises `ControlByteError` for reserved bytes.
    """
    words: list[str] = []
    while True:
        try:
            word = await _read_word(reader)
        except ConnectionError:
            return None
        if word is None:
            return None
        if not word:
            return words
        words.append(word.decode("utf-8", errors="surrogateescape"))
