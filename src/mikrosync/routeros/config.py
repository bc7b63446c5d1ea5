"""Connection parameters of one router, as plain values (no mikrosync settings objects).

The router package must stay usable on its own, so callers translate their settings and
database rows into this dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mikrosync.routeros.tls import TlsOptions

API_PORT = 8728
API_SSL_PORT = 8729


@dataclass(frozen=True)
class RouterConfig:
    """Where a router is, how to log in, and how patient to be with it.

    ``tls=None`` means the plain API (8728); any ``TlsOptions`` means API-SSL (8729 unless
    ``port`` says otherwise). ``encoding`` is UTF-8 because comments and names may hold
    non-ASCII text; librouteros' own default (ASCII) would refuse to send it and silently drop
    such bytes on reading.
    """

    host: str
    username: str
    password: str = field(repr=False)
    port: int | None = None
    tls: TlsOptions | None = None
    connect_timeout: float = 10.0
    """Seconds for TCP connect, TLS handshake and login together."""
    command_timeout: float = 30.0
    """Seconds for one command's whole reply, and between two reply sentences of a stream."""
    max_sessions: int = 4
    """Connections this process keeps at most towards the router (RouterOS allows 20 by default)."""
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if self.connect_timeout <= 0 or self.command_timeout <= 0:
            raise ValueError("timeouts must be positive")

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return API_PORT if self.tls is None else API_SSL_PORT

    @property
    def endpoint(self) -> tuple[str, int, str]:
        """What identifies "the same router" for pooling: host, port and API user."""
        return (self.host, self.effective_port, self.username)

    def describe(self) -> str:
        scheme = "api" if self.tls is None else "api-ssl"
        return f"{scheme}://{self.username}@{self.host}:{self.effective_port}"
