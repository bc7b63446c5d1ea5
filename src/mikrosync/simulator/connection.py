"""One API connection: login, then read a command, apply faults and delays, reply.

Created by `server.py` for each accepted connection. Commands are handled strictly one after
another, as librouteros sends them; `.tag` is echoed but not used for concurrency. The
connection ends on EOF, `/quit`, a `!fatal` or a fault, and always closes its transport.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from contextlib import suppress
from typing import Protocol

from mikrosync.simulator.codec import ControlByteError, encode_sentence, read_sentence
from mikrosync.simulator.commands import execute
from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.errors import Fatal, Trap, TrapError
from mikrosync.simulator.faults import FaultKind, Faults
from mikrosync.simulator.protocol import Reply, Request, parse_request
from mikrosync.simulator.store import Store

__all__ = ["Connection", "ConnectionHost"]

BAD_LOGIN = Trap("invalid user name or password (6)")


class ConnectionHost(Protocol):
    """What a connection needs from its router (implemented by `SimRouter`)."""

    config: SimConfig
    store: Store
    faults: Faults
    cpu: asyncio.Lock
    command_log: list[str]


class _Closed(Exception):
    """Internal: the connection is over; the transport is closed in `run`."""


class Connection:
    """State of one client connection."""

    def __init__(
        self, host: ConnectionHost, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.host = host
        self.reader = reader
        self.writer = writer
        self.logged_in = False
        self.challenge: bytes | None = None

    async def run(self) -> None:
        """Serve until the peer leaves or the connection is ended; never raises for I/O errors."""
        try:
            while True:
                words = await read_sentence(self.reader)
                if words is None:
                    return
                if words:  # empty sentences are ignored (§2.2)
                    await self._handle(parse_request(words))
        except ControlByteError as exc:
            with suppress(_Closed, ConnectionError):
                await self._send_fatal(Request(command=""), str(exc))
        except (_Closed, ConnectionError):
            pass
        finally:
            await self.close()

    def abort(self) -> None:
        """Cut the connection without a goodbye (router going down)."""
        self.writer.transport.abort()

    async def close(self) -> None:
        """Close the transport and wait for it; safe to call twice."""
        self.writer.close()
        with suppress(ConnectionError, asyncio.CancelledError):
            await self.writer.wait_closed()

    # -- helpers ------------------------------------------------------------------------------

    async def _write(self, reply: Reply) -> None:
        self.writer.write(b"".join(encode_sentence(s) for s in reply.sentences))
        await self.writer.drain()

    async def _send_fatal(self, request: Request, message: str) -> None:
        reply = Reply(request.tag)
        reply.fatal(message)
        await self._write(reply)
        raise _Closed

    async def _wait_for_eof(self) -> None:
        """A stalled router: swallow input, never answer, until the client gives up."""
        while await self.reader.read(4096):
            pass
        raise _Closed

    # -- login --------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> None:
        if request.command == "/login":
            await self._round_trip()
            await self._write(self._login(request))
        elif not self.logged_in:
            await self._round_trip()
            await self._send_fatal(request, "not logged in")
        else:
            await self._command(request)

    async def _round_trip(self) -> None:
        """The network's round trip before a reply (`latency_ms`), login included."""
        if self.host.config.latency_ms:
            await asyncio.sleep(self.host.config.latency_ms / 1000)

    def _login(self, request: Request) -> Reply:
        """Plain login, or the legacy challenge when the config allows it (§3)."""
        reply = Reply(request.tag)
        config = self.host.config
        name = request.attributes.get("name")
        if name is None:
            # Like a 6.43+ router, always hand out a challenge; only accept it if configured.
            self.challenge = secrets.token_bytes(16)
            reply.done(self.challenge.hex())
            return reply
        if "response" in request.attributes:
            ok = config.legacy_login and self._response_ok(request.attributes["response"])
        else:
            ok = request.attributes.get("password") == config.password
        if ok and name == config.username:
            self.logged_in = True
        else:
            reply.trap(BAD_LOGIN)
        reply.done()
        return reply

    def _response_ok(self, response: str) -> bool:
        if self.challenge is None:
            return False
        digest = hashlib.md5(usedforsecurity=False)
        digest.update(b"\x00" + self.host.config.password.encode() + self.challenge)
        return response == "00" + digest.hexdigest()

    # -- commands -----------------------------------------------------------------------------

    async def _command(self, request: Request) -> None:
        host = self.host
        await self._round_trip()
        fault = host.faults.take(request.command)
        kind = fault.kind if fault else None
        if kind is FaultKind.STALL:
            await self._wait_for_eof()
        if fault is not None and kind is FaultKind.FATAL:
            await self._send_fatal(request, fault.message)
        reply = Reply(request.tag)
        if fault is not None and kind is FaultKind.TRAP:
            reply.trap(Trap(fault.message, fault.category))
            reply.done()
        else:
            await self._execute(request, reply)
        data = b"".join(encode_sentence(s) for s in reply.sentences)
        if kind is FaultKind.GHOST:
            raise _Closed
        if kind is FaultKind.DROP:
            self.writer.write(data[: max(1, len(data) // 2)])
            await self.writer.drain()
            raise _Closed
        self.writer.write(data)
        await self.writer.drain()

    async def _execute(self, request: Request, reply: Reply) -> None:
        """Run the command on the router's CPU (one command at a time per router)."""
        async with self.host.cpu:
            if self.host.config.service_ms:
                await asyncio.sleep(self.host.config.service_ms / 1000)
            self.host.command_log.append(request.command)
            try:
                execute(self.host.store, request, reply)
            except TrapError as exc:
                reply.sentences.clear()
                for trap in exc.traps:
                    reply.trap(trap)
                reply.done()
            except Fatal as exc:
                reply.sentences.clear()
                reply.fatal(exc.message)
                await self._write(reply)
                raise _Closed from exc
