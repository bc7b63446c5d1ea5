"""Many commands in flight on one API connection, told apart by `.tag` (ROUTEROS_API.md §4.1).

Why: a command sent after the previous reply pays a full round trip; a router 20 ms away then
takes at most 50 commands a second per connection, while its CPU could serve hundreds. Sent
back to back with tags, the commands share the round trip, and the router's own service time
becomes the limit (`bench/`, workloads 1, 5, 8 and 9).

What it does: writes up to `window` tagged commands ahead of their replies, reads the reply
sentences in one loop with a small decoder of its own (librouteros reads a word at a time with
a timer per sentence, which costs more CPU than the router's work), and returns one `Reply` per
command, in the order given. A `!trap` fails that command alone. A failure of the connection
(lost, `!fatal`, no reply within the timeout) ends the pipeline: the commands answered so far
keep their replies, the others get none (`Reply` is `None`), and the caller decides what to do
with them; the connection is broken then and never reused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from librouteros.protocol import encode_sentence

from mikrosync.routeros.connection import Connection, Row
from mikrosync.routeros.errors import (
    ConnectionLost,
    FatalError,
    ProtocolViolation,
    RouterOSError,
    RouterTimeout,
    trap_error,
)

DEFAULT_WINDOW = 256
"""Commands written ahead of their replies. At 0.5 ms of router service and 20 ms of round trip
the router stays busy from 40 on; more only fills the socket buffers."""


@dataclass(frozen=True)
class Command:
    path: str
    words: tuple[str, ...] = ()


@dataclass
class Reply:
    """One command's answer: its rows, its `!done` attributes, or the refusal."""

    rows: list[Row] = field(default_factory=list)
    done: Row = field(default_factory=dict)
    error: RouterOSError | None = None

    @property
    def ret(self) -> str:
        """The id an `add` created."""
        return self.done.get("ret", "")


@dataclass
class PipelineResult:
    replies: list[Reply | None]
    """In the order of the commands; `None` where no complete reply arrived."""
    error: RouterOSError | None = None
    """Why the pipeline stopped early (the connection is then broken)."""


class _Decoder:
    """Sentences out of a byte stream: length-prefixed words, an empty word ends a sentence."""

    def __init__(self, encoding: str) -> None:
        self._buffer = bytearray()
        self._words: list[str] = []
        self._encoding = encoding

    def feed(self, data: bytes) -> list[list[str]]:
        self._buffer += data
        buffer = self._buffer
        sentences: list[list[str]] = []
        position = 0
        end = len(buffer)
        while position < end:
            length, size = _length(buffer, position, end)
            if size == 0 or position + size + length > end:
                break
            start = position + size
            position = start + length
            if length == 0:
                sentences.append(self._words)
                self._words = []
            else:
                self._words.append(buffer[start:position].decode(self._encoding, "replace"))
        del buffer[:position]
        return sentences


def _length(buffer: bytearray, position: int, end: int) -> tuple[int, int]:
    """(word length, size of its prefix), or (0, 0) when the prefix is not complete yet."""
    first = buffer[position]
    if first < 0x80:
        return first, 1
    if first < 0xC0:
        size, value = 2, first & 0x3F
    elif first < 0xE0:
        size, value = 3, first & 0x1F
    elif first < 0xF0:
        size, value = 4, first & 0x0F
    elif first == 0xF0:
        size, value = 5, 0
    else:
        raise ProtocolViolation(f"control byte {first:#x} in a reply")
    if position + size > end:
        return 0, 0
    for index in range(position + 1, position + size):
        value = (value << 8) | buffer[index]
    return value, size


def _split(words: Sequence[str]) -> tuple[str | None, Row]:
    tag: str | None = None
    row: Row = {}
    for word in words:
        if word.startswith("="):
            key, _, value = word[1:].partition("=")
            row[key] = value
        elif word.startswith(".tag="):
            tag = word[5:]
    return tag, row


async def run_pipelined(
    session: Connection,
    commands: Sequence[Command],
    *,
    window: int = DEFAULT_WINDOW,
    timeout: float | None = None,
) -> PipelineResult:
    """Send `commands` tagged, up to `window` ahead of their replies, on one leased session.

    `timeout`: the longest wait for the next reply sentence (default: the session's command
    timeout). The session is broken afterwards unless every command got its complete reply.
    """
    replies: list[Reply | None] = [None] * len(commands)
    if not commands:
        return PipelineResult(replies)
    reader, writer = session.streams()
    encoding = session.encoding
    wait = session.command_timeout if timeout is None else timeout
    decoder = _Decoder(encoding)
    partial: dict[int, Reply] = {}
    sent = answered = 0
    session.broken = True  # until every reply has been read to its !done
    session.commands += len(commands)
    try:
        while answered < len(commands):
            if sent < len(commands) and sent - answered < window:
                chunk = []
                while sent < len(commands) and sent - answered < window:
                    command = commands[sent]
                    chunk.append(
                        encode_sentence(
                            command.path, *command.words, f".tag={sent}", encoding=encoding
                        )
                    )
                    sent += 1
                writer.write(b"".join(chunk))
                await writer.drain()
            async with asyncio.timeout(wait):
                data = await reader.read(65536)
            if not data:
                raise ConnectionLost(f"{session.describe()}: the router closed the connection")
            for sentence in decoder.feed(data):
                answered += _take(sentence, partial, replies, commands)
                session.replied = True
    except TimeoutError:
        error: RouterOSError = RouterTimeout(
            f"{session.describe()}: no reply within {wait:.0f} s "
            f"({answered} of {len(commands)} pipelined commands answered)"
        )
        return PipelineResult(replies, error)
    except RouterOSError as exc:
        return PipelineResult(replies, exc)
    except (OSError, asyncio.IncompleteReadError) as exc:
        return PipelineResult(replies, ConnectionLost(f"{session.describe()}: {exc!r}"))
    session.broken = False
    return PipelineResult(replies)


def _take(
    sentence: list[str],
    partial: dict[int, Reply],
    replies: list[Reply | None],
    commands: Sequence[Command],
) -> int:
    """File one reply sentence under its command; 1 when that command is now complete."""
    if not sentence:
        return 0
    kind = sentence[0]
    tag, attributes = _split(sentence[1:])
    if kind == "!fatal":
        raise FatalError(sentence[1] if len(sentence) > 1 else "fatal")
    if tag is None or not tag.isdigit() or int(tag) >= len(commands):
        raise ProtocolViolation(f"reply {kind} with an unknown tag {tag!r}")
    index = int(tag)
    reply = partial.setdefault(index, Reply())
    if kind == "!re":
        if attributes:
            reply.rows.append(attributes)
    elif kind == "!trap":
        category = attributes.get("category")
        reply.error = trap_error(
            attributes.get("message", ""),
            int(category) if category and category.isdigit() else None,
            commands[index].path,
        )
    elif kind == "!done":
        reply.done = attributes
        replies[index] = partial.pop(index)
        return 1
    return 0
