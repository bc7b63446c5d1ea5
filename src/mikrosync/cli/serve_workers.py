"""Several uvicorn worker processes on one port: each with a listening socket of its own,
bound with SO_REUSEPORT, and TCP_NODELAY on every connection.

One socket shared by every process (uvicorn's way) lets whichever process wakes first accept
every connection waiting: under `make load` the 200 keep-alive clients split as unevenly as
122 / 78, and the busier process's clients waited 1.5 x as long (p99 1.17 s against 0.84 s).
With a socket per process the kernel spreads new connections over the sockets by a hash of
their addresses.

The sockets are made with their protocol said (IPPROTO_TCP): asyncio turns TCP_NODELAY on
only for such sockets, and uvicorn binds with `proto` 0. Without it every keep-alive request
after the first waits for the client's delayed ACK: about 45 ms each on Linux (uvicorn issue
#3149, still open at 0.54).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


def listening_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """`count` listening TCP sockets on one port (0: a free one, the same for all).

    Raises OSError if the port is taken, even by another program's SO_REUSEPORT sockets
    (a `serve` left running): those would otherwise share the port with ours, silently.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


class SocketPerProcess(Multiprocess):
    """uvicorn's supervisor (start, health checks, replacing a dead process, SIGHUP restart),
    with process i always given socket i: uvicorn's own logic runs on one slot at a time."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets[:1])
        self.slots = sockets
        self.processes_num = 1  # per slot, in the methods below

    @contextlib.contextmanager
    def _slot(self, index: int) -> Iterator[None]:
        processes = self.processes
        self.processes, self.sockets = processes[index : index + 1], [self.slots[index]]
        try:
            yield
        finally:
            processes[index : index + 1] = self.processes
            self.processes = processes

    def init_processes(self) -> None:
        for index in range(len(self.slots)):
            with self._slot(index):
                super().init_processes()

    def keep_subprocess_alive(self) -> None:
        for index in range(len(self.processes)):
            with self._slot(index):
                super().keep_subprocess_alive()

    def restart_all(self) -> None:
        for index in range(len(self.processes)):
            with self._slot(index):
                super().restart_all()

    def handle_ttin(self) -> None:
        """More processes than sockets is not supported: restart with `--workers N`."""

    def handle_ttou(self) -> None:
        """Fewer processes than sockets would leave a socket nobody accepts on."""


def run_workers(app: str, **options: Any) -> None:
    """`uvicorn.run(app, workers=N, ...)`, with a listening socket per worker process."""
    config = uvicorn.Config(app, **options)
    try:
        sockets = listening_sockets(config.host, config.port, config.workers, config.backlog)
    except OSError as exc:
        raise SystemExit(
            f"mikrosync serve: cannot listen on {config.host}:{config.port}: {exc.strerror}"
            " (is another server running on that port? choose one with --port)"
        ) from exc
    with contextlib.suppress(KeyboardInterrupt):
        SocketPerProcess(config, sockets).run()
