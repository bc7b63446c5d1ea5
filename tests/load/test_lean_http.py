"""The load generator's lean HTTP client (`tests/load/lean_http.py`) against a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from tests.load.lean_http import LeanClient, LeanHTTPError

ANSWERS = {
    b"/plain": b'HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{"id": 42} ',
    b"/chunked": (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\n[1, \r\n3\r\n2]\n\r\n0\r\n\r\n"
    ),
    b"/refused": b"HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
}


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """Answers each request by its path; records each request (head and body) it read."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await answer(reader, writer)
        writer.close()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length")),
                0,
            )  # fmt: skip
            seen.append(head + await reader.readexactly(length))
            path = head.split(b" ")[1].split(b"?")[0]
            writer.write(ANSWERS[path])
            await writer.drain()
            if path == b"/refused":
                return

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", seen
    listener.close()


@pytest.fixture
async def client(server: tuple[str, list[bytes]]) -> AsyncIterator[LeanClient]:
    url, _ = server
    lean = LeanClient(url)
    yield lean
    await lean.aclose()


async def test_requests_share_one_connection_and_answers_are_read_back(
    server: tuple[str, list[bytes]], client: LeanClient
) -> None:
    _, seen = server
    plain = await client.get("/plain", params={"page": 2}, headers={"Authorization": "x"})
    chunked = await client.post("/chunked", json={"a": 1}, headers={})
    first_connection = client._writer
    again = await client.patch("/plain", json=[1], headers={})
    assert (plain.status_code, plain.json()) == (200, {"id": 42})
    assert (chunked.status_code, chunked.json()) == (201, [1, 2])
    assert again.status_code == 200 and first_connection is not None
    assert seen[0].startswith(b"GET /plain?page=2 HTTP/1.1\r\n") and b"Authorization: x" in seen[0]
    assert seen[1].endswith(b'Content-Length: 8\r\n\r\n{"a": 1}')
    assert json.loads(seen[2].split(b"\r\n\r\n")[1]) == [1]


async def test_a_refusal_raises_and_a_closed_connection_is_opened_again(
    client: LeanClient,
) -> None:
    refused = await client.post("/refused", headers={})
    with pytest.raises(LeanHTTPError, match="HTTP 409"):
        refused.raise_for_status()
    assert client._writer is None  # the server said Connection: close
    assert (await client.get("/plain", headers={})).status_code == 200
