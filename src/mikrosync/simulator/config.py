"""`SimConfig`: the start-time settings of one simulated router.

Every knob that can also change at run time has a setter on `SimRouter`; this dataclass only
holds the initial values (the CLI builds one from its flags).
"""

from __future__ import annotations

from dataclasses import dataclass

from mikrosync.simulator.store import parse_version

__all__ = ["SimConfig"]


@dataclass
class SimConfig:
    """Initial settings; defaults match a factory-fresh RouterOS 7.18.2 with user admin."""

    username: str = "admin"
    password: str = ""
    identity: str = "MikroTik"
    latency_ms: float = 0.0
    """The network round trip: a reply (login included) arrives RTT plus its queued service
    time after its command was sent, so commands pipelined on one connection share one RTT; a
    new connection's first reply comes one RTT later still (the TCP handshake)."""
    service_ms: float = 0.0
    """CPU time of each command on the router's single CPU (commands of all connections
    queue for it)."""
    max_sessions: int = 20
    version: str = "7.18.2"
    legacy_login: bool = False
    """Accept the pre-6.43 challenge-response login (the challenge is always sent)."""
    tls: bool = False
    dial_rate: float = 0.0
    """Background dialer: users brought online per second (0 = off)."""
    seed: int = 0
    """Seed of the random choices (dialer order, challenges are still random)."""

    def validate(self) -> None:
        """Raise ValueError for values no router could have."""
        if self.latency_ms < 0 or self.service_ms < 0:
            raise ValueError("latency and service time must be >= 0")
        if self.max_sessions < 1:
            raise ValueError("max-sessions must be >= 1")
        if self.dial_rate < 0:
            raise ValueError("dial rate must be >= 0")
        if not self.username:
            raise ValueError("username must not be empty")
        parse_version(self.version)
