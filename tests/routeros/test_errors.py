"""Classification of librouteros / socket failures, stage by stage (no network needed)."""

from __future__ import annotations

import ssl

import pytest
from librouteros import exceptions as lre

from mikrosync.routeros import (
    AuthError,
    ConnectError,
    ConnectionLost,
    FatalError,
    PermanentTrap,
    ProtocolViolation,
    RouterOSError,
    RouterTimeout,
    RouterTrap,
    SessionLimit,
    TlsError,
    TransientRouterError,
    TransientTrap,
)
from mikrosync.routeros.connection import Stage, translate

CASES: list[tuple[Exception, Stage, type[RouterOSError]]] = [
    (TimeoutError(), "connect", RouterTimeout),
    (TimeoutError(), "command", RouterTimeout),
    (ConnectionRefusedError(111, "Connection refused"), "connect", ConnectError),
    (OSError(113, "No route to host"), "connect", ConnectError),
    (ConnectionResetError(), "connect", SessionLimit),
    (lre.ConnectionClosed("closed"), "login", SessionLimit),
    (lre.ConnectionClosed("closed"), "command", ConnectionLost),
    (BrokenPipeError(), "command", ConnectionLost),
    (OSError(9, "Bad file descriptor"), "command", ConnectionLost),
    (lre.FatalError("session terminated on request"), "command", FatalError),
    (lre.TrapError("invalid user name or password (6)"), "login", AuthError),
    (lre.TrapError("input does not match any value of profile", 1), "command", PermanentTrap),
    (lre.TrapError("interrupted", 2), "command", TransientTrap),
    (lre.MultiTrapError(lre.TrapError("a", 0), lre.TrapError("b")), "command", PermanentTrap),
    (lre.ProtocolError("Unknown controll byte"), "command", ProtocolViolation),
    (ValueError("not enough values to unpack"), "command", ProtocolViolation),
    (ssl.SSLCertVerificationError("self-signed"), "connect", TlsError),
]


@pytest.mark.parametrize(("exc", "stage", "expected"), CASES)
def test_failures_are_classified(
    exc: Exception, stage: Stage, expected: type[RouterOSError]
) -> None:
    assert type(translate(exc, stage=stage, what="r1")) is expected


def test_trap_keeps_message_and_category() -> None:
    error = translate(lre.TrapError("no such item (4)", 0), stage="command", what="/x/set")
    assert isinstance(error, RouterTrap)
    assert (error.message, error.category, error.command) == ("no such item (4)", 0, "/x/set")


def test_multitrap_message_joins_both_texts() -> None:
    multi = lre.MultiTrapError(
        lre.TrapError("no such command or directory (x)", 0),
        lre.TrapError("no such command prefix"),
    )
    error = translate(multi, stage="command", what="/x/print")
    assert error.message == "no such command or directory (x), no such command prefix"


def test_transient_errors_share_one_base() -> None:
    for cls in (ConnectError, RouterTimeout, SessionLimit, FatalError, ConnectionLost):
        assert issubclass(cls, TransientRouterError)


def test_unknown_exceptions_are_not_swallowed() -> None:
    with pytest.raises(KeyError):
        translate(KeyError("bug"), stage="command", what="r1")
