"""`SimRouter`: one simulated router — listeners, connections, knobs and the test-facing API.

Owns the listening sockets (plain and optional TLS), the open connections, the router's single
"CPU", the armed faults and the background dialer. Tests and the CLI drive it through
the methods below; `connection.py` does the per-connection work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.connection import Connection, Cpu
from mikrosync.simulator.faults import Fault, FaultKind, Faults
from mikrosync.simulator.live import KINDS, Live
from mikrosync.simulator.state import dump_state, load_state, seed_secrets
from mikrosync.simulator.store import Store
from mikrosync.simulator.tables import Row
from mikrosync.simulator.tls import ServerCertificate, make_certificate

__all__ = ["SimRouter"]


class SimRouter:
    """A RouterOS API server with scripted faults; see docs/routeros-simulator.md."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.config.validate()
        self.store = Store(self.config.version, self.config.identity)
        self.live = Live(self.store, seed=self.config.seed)
        self.faults = Faults()
        self.cpu = Cpu()
        self.command_log: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.tls_port: int | None = None
        self.certificate: ServerCertificate | None = None
        self._servers: list[asyncio.Server] = []
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dialer: asyncio.Task[None] | None = None
        self._deaths: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, tls_port: int | None = None
    ) -> None:
        """Listen on `port` (0 = any free one) and, with TLS on or `tls_port` given, on TLS too."""
        self.host = host
        if self.config.tls or tls_port is not None:
            self.certificate = make_certificate(self.config.identity)
            self.tls_port = tls_port or 0
        self.port = port
        await self.come_up()
        self.set_dial_rate(self.config.dial_rate)

    async def come_up(self) -> None:
        """Listen again, on the same ports as before (a rebooted router keeps its address)."""
        if self._servers:
            return
        plain = await asyncio.start_server(self._on_connect, self.host, self.port)
        self._servers.append(plain)
        self.port = plain.sockets[0].getsockname()[1]
        if self.certificate is not None and self.tls_port is not None:
            tls = await asyncio.start_server(
                self._on_connect, self.host, self.tls_port, ssl=self.certificate.context
            )
            self._servers.append(tls)
            self.tls_port = tls.sockets[0].getsockname()[1]

    async def go_down(self) -> None:
        """Stop listening (connections are refused) and cut every open connection."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for connection in list(self._connections):
            connection.abort()
        await self._drain_tasks()
        for server in servers:
            await server.wait_closed()

    async def stop(self) -> None:
        """Shut everything down: listeners, connections, dialer."""
        self.set_dial_rate(0.0)
        await self.go_down()

    async def _drain_tasks(self) -> None:
        # A pending death's revival is cancelled too (a stopped router stays down), but not
        # the death that is itself going down.
        current = asyncio.current_task()
        tasks = [task for task in (*self._tasks, *self._deaths) if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(self, reader, writer)
        if len(self._connections) >= self.config.max_sessions:
            await connection.close()  # accept, then close: what a full router does (§9)
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._connections.add(connection)
        try:
            if self.config.latency_ms:
                # The TCP handshake's round trip: the client's first reply (its login) comes
                # one RTT later than on an open connection, as on a network.
                await asyncio.sleep(self.config.latency_ms / 1000)
            await connection.run()
        except asyncio.CancelledError:
            # Swallowed on purpose: asyncio's stream callback calls task.exception() on this
            # task, which would raise for a cancelled one (and log a spurious traceback).
            await connection.close()
        finally:
            self._connections.discard(connection)
            self._tasks.discard(task)

    @property
    def session_count(self) -> int:
        """API sessions open on the router, i.e. its connections, logged in or not (what
        `max_sessions`, RouterOS's own session limit, counts)."""
        return len(self._connections)

    # -- knobs --------------------------------------------------------------------------------

    def set_latency(self, ms: float) -> None:
        """Round-trip time: a reply arrives RTT (plus queued service) after its command was sent;
        commands pipelined on one connection share it. A new connection's first reply comes one
        RTT later (the TCP handshake). Applies to commands read from now on."""
        self.config.latency_ms = ms

    def set_service_time(self, ms: float) -> None:
        """CPU time of each command; the commands of all connections queue for the one CPU."""
        self.config.service_ms = ms

    def set_max_sessions(self, n: int) -> None:
        """API sessions (connections) beyond `n` are accepted and closed at once."""
        self.config.max_sessions = n

    def set_dial_rate(self, rate: float) -> None:
        """Background dialer rate in users per second; 0 stops it."""
        self.config.dial_rate = rate
        if self._dialer is not None:
            self._dialer.cancel()
            self._dialer = None
        if rate > 0:
            self._dialer = asyncio.get_running_loop().create_task(self.live.run_dialer(rate))
            self._tasks.add(self._dialer)
            self._dialer.add_done_callback(self._tasks.discard)

    def stall_next(self, n: int = 1, path: str | None = None) -> None:
        """The next n (matching) commands never get a reply; the connection stays open."""
        self.faults.arm(Fault(FaultKind.STALL, n, path))

    def drop_next(self, n: int = 1, path: str | None = None) -> None:
        """The next n commands run, then the connection closes after part of the reply."""
        self.faults.arm(Fault(FaultKind.DROP, n, path))

    def ghost_next(self, n: int = 1, path: str | None = None, after: int = 0) -> None:
        """The next n commands run, then the connection closes before any reply byte.

        With `after=k`, k matching commands are answered first: the replies of commands k+1
        to k+n of a burst are lost although the router applied them (a TCP connection that
        loses data dies with it)."""
        self.faults.arm(Fault(FaultKind.GHOST, n, path, after=after))

    def fatal_next(
        self, n: int = 1, message: str = "session terminated on request", path: str | None = None
    ) -> None:
        """The next n commands get `!fatal <message>` instead of running; then close."""
        self.faults.arm(Fault(FaultKind.FATAL, n, path, message))

    def trap_next(
        self,
        path: str,
        n: int = 1,
        message: str = "failure: simulated",
        category: int | None = None,
        after: int = 0,
    ) -> None:
        """The next n commands matching `path` (command or menu prefix) get this `!trap`;
        with `after=k`, only once k matching commands ran (one row of a burst refused)."""
        self.faults.arm(Fault(FaultKind.TRAP, n, path, message, category, after=after))

    def die_after(self, k: int, down_s: float, path: str | None = None) -> None:
        """A router dying mid-pipeline: k matching commands run; the next one is never
        executed nor answered, every connection is cut (whatever they had in flight is lost),
        connections are refused for `down_s` seconds, then the router is back up."""
        self.faults.arm(Fault(FaultKind.STALL, 1, path, after=k, hook=lambda: self._die(down_s)))

    def on_command(self, hook: Callable[[], None], after: int = 0, path: str | None = None) -> None:
        """Call `hook` when the (after+1)-th matching command arrives, before it runs; the
        command then runs and is answered as usual (a cue: a test kills its sender)."""
        self.faults.arm(Fault(FaultKind.PASS, 1, path, after=after, hook=hook))

    def _die(self, down_s: float) -> None:
        task = asyncio.get_running_loop().create_task(self._down_for(down_s))
        self._deaths.add(task)
        task.add_done_callback(self._deaths.discard)

    async def _down_for(self, down_s: float) -> None:
        await self.go_down()
        await asyncio.sleep(down_s)
        await self.come_up()

    def clear_faults(self) -> None:
        """Disarm every pending fault."""
        self.faults.clear()

    # -- live sessions ------------------------------------------------------------------------

    def dial_in(self, kind: str, name: str) -> bool:
        """A subscriber connects (`kind` is "ppp" or "hotspot"); False if disabled or missing."""
        _check_kind(kind)
        return self.live.dial_in(kind, name)

    def kick(self, kind: str, name: str, reason: str = "admin-request") -> bool:
        """End a subscriber's session; False when it was not online."""
        _check_kind(kind)
        return self.live.kick(kind, name, reason)

    # -- state --------------------------------------------------------------------------------

    def rows(self, path: str) -> list[dict[str, str]]:
        """A copy of a menu as `print` shows it (with `.id` on list menus)."""
        return self.store.printed(path)

    def add_row(self, path: str, values: Row) -> str:
        """Add an item directly, as a technician on the console would; returns its `.id`."""
        return self.store.add(path, values, trusted=True)

    def reset_command_log(self) -> None:
        """Forget the executed commands (to count the writes of one step)."""
        self.command_log.clear()

    def dump_state(self) -> dict[str, Any]:
        """The configuration tables as a JSON-ready dict."""
        return dump_state(self.store)

    def load_state(self, data: dict[str, Any]) -> None:
        """Replace the configuration with a dump; live sessions end."""
        self.live.started.clear()
        load_state(self.store, data)

    def seed_secrets(self, n: int) -> list[str]:
        """Add `n` PPP secrets that no application owns (plain or no comment)."""
        return seed_secrets(self.store, n)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
