"""Fixtures for the simulator conformance suite.

The simulator runs on the test's event loop, so synchronous clients (librouteros `connect`,
RouterOS-api) are run in a worker thread with `asyncio.to_thread`. `RawClient` speaks bytes
directly for the golden-byte and protocol-edge tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import librouteros
import pytest

from mikrosync.simulator import SimRouter
from mikrosync.simulator.codec import encode_sentence, read_sentence
from mikrosync.simulator.testing import running_router

PASSWORD = "pw"
T = TypeVar("T")


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    """A fresh router per test (admin / pw)."""
    async with running_router(password=PASSWORD) as router:
        yield router


@pytest.fixture
async def api(sim: SimRouter) -> AsyncIterator[librouteros.api.AsyncApi]:
    """A logged-in librouteros async connection to `sim`."""
    connection = await librouteros.async_connect("127.0.0.1", "admin", PASSWORD, port=sim.port)
    try:
        yield connection
    finally:
        await connection.close()


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


@pytest.fixture
async def raw(sim: SimRouter) -> AsyncIterator[RawClient]:
    """A logged-in raw client."""
    client = await RawClient.open(sim)
    try:
        yield client
    finally:
        await client.close()
