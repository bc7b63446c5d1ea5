"""A lean HTTP/1.1 keep-alive client for the load generator's clients.

The generator shares the 2 CPUs with what it measures: with an httpx client per load client it
took about 27 % of a core at 230 requests/s (`top` during `make load`), CPU that `serve` then
did not have. This client does only what the load needs — one keep-alive connection, a request
written in one piece, a `Content-Length` (or chunked) answer read back — at a fraction of that.
Set-up and the one-client timings keep httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlencode, urlsplit


class LeanResponse:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.content = body

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if not 200 <= self.status_code < 300:
            raise LeanHTTPError(f"HTTP {self.status_code}: {self.content[:200]!r}")


class LeanHTTPError(OSError):
    """A refused answer, or a connection that broke mid-request (counted as an error)."""


class LeanClient:
    """One connection, one request at a time (a load client is sequential)."""

    def __init__(self, base_url: str, *, timeout: float = 120.0) -> None:
        self.base_url = str(base_url)
        parts = urlsplit(self.base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def local_port(self) -> int | None:
        """This client's end of its open connection (which `serve` process holds the other)."""
        if self._writer is None:
            return None
        return int(self._writer.get_extra_info("sockname")[1])

    async def get(
        self, path: str, *, params: dict[str, Any] | None = None, headers: dict[str, str]
    ) -> LeanResponse:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, *, json: Any = None, headers: dict[str, str]) -> LeanResponse:
        return await self.request("POST", path, json_body=json, headers=headers)

    async def patch(self, path: str, *, json: Any, headers: dict[str, str]) -> LeanResponse:
        return await self.request("PATCH", path, json_body=json, headers=headers)

    async def request(
        self, method: str, path: str, *, headers: dict[str, str], json_body: Any = None
    ) -> LeanResponse:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if json_body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        try:
            return await asyncio.wait_for(self._exchange(head + body), self.timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            await self.aclose()
            raise LeanHTTPError(f"{method} {path}: {exc!r}") from exc

    async def _exchange(self, message: bytes) -> LeanResponse:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(message)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self._reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.aclose()
        return LeanResponse(status, body)

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self._reader.readexactly(size + 2)
            if size == 0:
                return b"".join(chunks)
            chunks.append(chunk[:-2])

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
