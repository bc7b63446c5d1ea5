"""One API connection: login, then commands, pipelined as on a network.

Created by `server.py` for each accepted connection. Latency is modelled per round trip, not
per command, so that tagged commands sent back to back share it (ROUTEROS_API.md §4.1, §9):

- the reader reads sentences as soon as the client sends them and queues each with the time it
  was read (= sent: the simulator runs on a local socket) and the RTT of that moment;
- the executor takes them strictly in order: a command reaches the router RTT/2 after it was
  sent, waits for the router's one CPU (`Cpu`: service time serialised over all connections),
  runs, and its reply is due RTT/2 after it ran;
- the writer delivers the replies in order, each at its due time.

A lone command thus costs RTT + service, and N commands sent back to back cost one RTT plus
N x service rather than N RTTs. Replies keep the order of their commands on a connection.
The connection ends on EOF (the commands already received still run and are answered),
`/quit`, a `!fatal` or a fault, and always closes its transport.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from mikrosync.simulator.codec import ControlByteError, encode_sentence, read_sentence
from mikrosync.simulator.commands import execute
from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.errors import Fatal, Trap, TrapError
from mikrosync.simulator.faults import FaultKind, Faults
from mikrosync.simulator.protocol import Reply, Request, parse_request
from mikrosync.simulator.store import Store

__all__ = ["Connection", "ConnectionHost", "Cpu"]

BAD_LOGIN = Trap("invalid user name or password (6)")


class Cpu:
    """The router's one CPU: the commands of every connection get it one after another.

    Time is booked rather than held with a lock: a command ready at `ready` starts then or when
    the previous booking ends, whichever is later. Sleeping to absolute end times keeps timer
    overshoot (about 1 ms per sleep on Linux) from adding up over many short service times.
    """

    def __init__(self) -> None:
        self.free_at = 0.0
        """Event-loop time at which the last booked command ends."""

    def book(self, ready: float, service_s: float) -> float:
        """Book `service_s` seconds of CPU from `ready` on; returns when the command ends."""
        self.free_at = max(ready, self.free_at) + service_s
        return self.free_at


class ConnectionHost(Protocol):
    """What a connection needs from its router (implemented by `SimRouter`)."""

    config: SimConfig
    store: Store
    faults: Faults
    cpu: Cpu
    command_log: list[str]


@dataclass
class _Inbound:
    """A request as read, with when it was sent and the half round trip it travels with."""

    request: Request
    sent_at: float
    half_rtt: float
    garbage: str | None = None
    """Set instead of a request when the stream broke the protocol at this point."""

    @property
    def arrives_at(self) -> float:
        return self.sent_at + self.half_rtt


@dataclass
class _Outbound:
    """Reply bytes due at loop time `at`; `close` ends the connection once they are out."""

    data: bytes
    at: float
    close: bool = False


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
        self.stalled = False
        self._inbound: asyncio.Queue[_Inbound | None] = asyncio.Queue()
        self._outbound: asyncio.Queue[_Outbound | None] = asyncio.Queue()

    async def run(self) -> None:
        """Serve until the peer leaves or the connection is ended; never raises for I/O errors."""
        reading = asyncio.create_task(self._read_all())
        executing = asyncio.create_task(self._execute_all())
        try:
            await self._write_all()
        finally:
            reading.cancel()
            executing.cancel()
            results = await asyncio.gather(reading, executing, return_exceptions=True)
            await self.close()
        for result in results:  # a bug in a command handler, not an I/O error: let it show
            if isinstance(result, Exception):
                raise result

    def abort(self) -> None:
        """Cut the connection without a goodbye (router going down)."""
        self.writer.transport.abort()

    async def close(self) -> None:
        """Close the transport and wait for it; safe to call twice."""
        self.writer.close()
        with suppress(ConnectionError, asyncio.CancelledError):
            await self.writer.wait_closed()

    # -- the three stages -----------------------------------------------------------------------

    async def _read_all(self) -> None:
        """Queue every request as it comes in; the queue ends with None at EOF."""
        loop = asyncio.get_running_loop()
        try:
            while not self.stalled:
                try:
                    words = await read_sentence(self.reader)
                except ControlByteError as exc:
                    if not self.stalled:
                        half = self._half_rtt()
                        self._inbound.put_nowait(
                            _Inbound(Request(command=""), loop.time(), half, str(exc))
                        )
                        return
                    break
                if words is None:
                    return
                if words:  # empty sentences are ignored (§2.2)
                    request = parse_request(words)
                    self._inbound.put_nowait(_Inbound(request, loop.time(), self._half_rtt()))
            # A stalled router: swallow input, never answer, until the client gives up.
            with suppress(ConnectionError):
                while await self.reader.read(4096):
                    pass
        finally:
            self._inbound.put_nowait(None)

    async def _execute_all(self) -> None:
        """Run the requests in order; the reply queue ends with None when nothing more comes."""
        try:
            while (item := await self._inbound.get()) is not None:
                if not self.stalled and not await self._serve(item):
                    return
        finally:
            self._outbound.put_nowait(None)

    async def _write_all(self) -> None:
        """Deliver the replies in order, each at its due time, until the connection ends."""
        while (item := await self._outbound.get()) is not None:
            await _sleep_until(item.at)
            if item.data:
                self.writer.write(item.data)
                try:
                    await self.writer.drain()
                except ConnectionError:
                    return
            if item.close:
                return

    # -- helpers ------------------------------------------------------------------------------

    def _half_rtt(self) -> float:
        return self.host.config.latency_ms / 2000

    def _send(self, reply: Reply, at: float, *, close: bool = False) -> None:
        data = b"".join(encode_sentence(s) for s in reply.sentences)
        self._outbound.put_nowait(_Outbound(data, at, close))

    def _send_fatal(self, request: Request, message: str, at: float) -> bool:
        reply = Reply(request.tag)
        reply.fatal(message)
        self._send(reply, at, close=True)
        return False

    async def _serve(self, item: _Inbound) -> bool:
        """Handle one request once it has reached the router; False when the connection ends."""
        await _sleep_until(item.arrives_at)
        request = item.request
        if item.garbage is not None:
            return self._send_fatal(request, item.garbage, item.arrives_at + item.half_rtt)
        if request.command == "/login":
            self._send(self._login(request), item.arrives_at + item.half_rtt)
            return True
        if not self.logged_in:
            return self._send_fatal(request, "not logged in", item.arrives_at + item.half_rtt)
        return await self._command(item)

    # -- login --------------------------------------------------------------------------------

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

    async def _command(self, item: _Inbound) -> bool:
        """Apply faults, run the command on the router's CPU and queue its reply."""
        request = item.request
        fault = self.host.faults.take(request.command)
        kind = fault.kind if fault else None
        if kind is FaultKind.STALL:
            self.stalled = True  # nothing more is answered; the reader swallows the rest
            return True
        if fault is not None and kind is FaultKind.FATAL:
            return self._send_fatal(request, fault.message, item.arrives_at + item.half_rtt)
        reply = Reply(request.tag)
        if fault is not None and kind is FaultKind.TRAP:
            reply.trap(Trap(fault.message, fault.category))
            reply.done()
            self._send(reply, item.arrives_at + item.half_rtt)
            return True
        ran_at = self.host.cpu.book(item.arrives_at, self.host.config.service_ms / 1000)
        await _sleep_until(ran_at)
        due = ran_at + item.half_rtt
        self.host.command_log.append(request.command)
        try:
            execute(self.host.store, request, reply)
        except TrapError as exc:
            reply.sentences.clear()
            for trap in exc.traps:
                reply.trap(trap)
            reply.done()
        except Fatal as exc:
            return self._send_fatal(request, exc.message, due)
        if kind is FaultKind.GHOST:
            self._outbound.put_nowait(_Outbound(b"", due, close=True))
            return False
        if kind is FaultKind.DROP:
            data = b"".join(encode_sentence(s) for s in reply.sentences)
            self._outbound.put_nowait(_Outbound(data[: max(1, len(data) // 2)], due, close=True))
            return False
        self._send(reply, due)
        return True


async def _sleep_until(deadline: float) -> None:
    """Sleep until event-loop time `deadline`; no wait (and no yield) if it has passed."""
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)
