"""Helpers of the simulator conformance suite (tests/simulator): byte-level and librouteros
clients. The fixtures (`sim`, `api`, `raw`) stay in tests/simulator/conftest.py: other
directories have fixtures of those names."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from mikrosync.simulator import SimRouter
from mikrosync.simulator.codec import encode_sentence, read_sentence

PASSWORD = "pw"
T = TypeVar("T")


async def collect(api: Any, cmd: str, **kwargs: Any) -> list[dict[str, Any]]:
    """All rows of one librouteros async command."""
    return [row async for row in api(cmd, **kwargs)]


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking client while the simulator keeps serving on this loop."""
    return await asyncio.to_thread(fn)


class RawClient:
    """A byte-level client: send words, read sentences, see exactly what the server wrote."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, sim: SimRouter, *, login: bool = True) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        client = cls(reader, writer)
        if login:
            await client.send("/login", "=name=admin", f"=password={PASSWORD}")
            assert await client.reply() == [["!done"]]
        return client

    async def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, *words: str) -> None:
        await self.send_bytes(encode_sentence(words))

    async def sentence(self) -> list[str] | None:
        return await read_sentence(self.reader)

    async def reply(self) -> list[list[str]]:
        """Sentences up to and including `!done` or `!fatal`."""
        sentences = []
        while True:
            sentence = await self.sentence()
            assert sentence is not None, f"connection closed after {sentences}"
            sentences.append(sentence)
            if sentence[0] in ("!done", "!fatal"):
                return sentences

    async def call(self, *words: str) -> list[list[str]]:
        await self.send(*words)
        return await self.reply()

    async def read_raw(self, n: int) -> bytes:
        return await self.reader.readexactly(n)

    async def at_eof(self) -> bool:
        return await self.reader.read() == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def freeze_clock(sim: SimRouter) -> list[float]:
    now = [1000.0]
    sim.live.clock = lambda: now[0]
    sim.store.booted = now[0]
    return now
