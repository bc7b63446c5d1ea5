"""Several uvicorn worker processes on one listening socket, with TCP_NODELAY on every
connection.

uvicorn's own multi-worker path binds the listening socket with `proto` 0; accepted
connections inherit it, and asyncio turns TCP_NODELAY on only for sockets whose `proto` is
IPPROTO_TCP. Without it every keep-alive request after the first waits for the client's
delayed ACK: about 45 ms each on Linux, measured here at 1 ms with one process and 46 ms with
two (uvicorn issue #3149, still open at 0.54). The socket is re-wrapped with its protocol said.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
            return sock
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def run_workers(app: str, **options: Any) -> None:
    """`uvicorn.run(app, workers=N, ...)` with the listening socket above."""
    config = TcpConfig(app, **options)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[config.bind_socket()]).run()
