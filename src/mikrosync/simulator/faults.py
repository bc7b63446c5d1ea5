"""Scripted faults: what the next N matching commands suffer instead of a clean reply.

Set from tests through `SimRouter.stall_next()` and friends; consumed by `connection.py` once per
logged-in command (login itself is never faulted, so a faulted router still accepts logins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["Fault", "FaultKind", "Faults"]


class FaultKind(Enum):
    """How a command misbehaves."""

    STALL = "stall"
    """No reply at all; the connection stays open (and dead) until the client closes it."""
    DROP = "drop"
    """The command is applied, part of the reply is sent, then the connection closes."""
    GHOST = "ghost"
    """The command is applied, then the connection closes before any reply byte."""
    FATAL = "fatal"
    """`!fatal <message>` instead of running the command, then close."""
    TRAP = "trap"
    """`!trap` (+ `!done`) instead of running the command; the connection survives."""
    PASS = "pass"
    """The command runs and is answered as usual; only the fault's `hook` is called (a
    test's cue, e.g. to kill the client that sent it halfway through a burst)."""


@dataclass
class Fault:
    """A fault armed for the next `remaining` commands whose path matches."""

    kind: FaultKind
    remaining: int
    path: str | None = None
    message: str = ""
    category: int | None = None
    after: int = 0
    """Matching commands let through before the fault fires: "k of a burst of n go through,
    then ..." (every connection's commands count, in the order the router takes them; a later
    armed fault may still hit them)."""
    hook: Callable[[], None] | None = None
    """Called each time the fault fires, before the connection acts on it (it must not block:
    it runs on the router's event loop)."""

    def matches(self, command: str) -> bool:
        """`path` is a full command (`/ppp/secret/add`) or a menu prefix (`/ppp/secret`)."""
        if self.path is None:
            return True
        prefix = self.path.rstrip("/")
        return command == prefix or command.startswith(prefix + "/")


@dataclass
class Faults:
    """Armed faults in arming order; the first one matching a command fires."""

    armed: list[Fault] = field(default_factory=list)

    def arm(self, fault: Fault) -> None:
        """Queue a fault (n < 1 is ignored)."""
        if fault.remaining > 0:
            self.armed.append(fault)

    def take(self, command: str) -> Fault | None:
        """The fault this command suffers, consuming one of its uses (None: a clean run).

        A fault still counting down its `after` lets the command on to the next armed fault;
        a `PASS` fault lets it through once its hook is called: connections only ever see the
        other kinds.
        """
        for fault in list(self.armed):
            if not fault.matches(command):
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.remaining -= 1
            if fault.remaining == 0:
                self.armed.remove(fault)
            if fault.hook is not None:
                fault.hook()
            return None if fault.kind is FaultKind.PASS else fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self.armed.clear()
