"""Errors of the router client, classified for retrying.

Why our own hierarchy: librouteros raises a mix of its own exceptions (``TrapError``,
``FatalError``, ``ConnectionClosed``), builtin ``OSError`` subclasses and ``TimeoutError``.
Callers (the sync layer, the job worker) must not know librouteros; they need one question
answered: *will retrying heal this?* So every failure is wrapped here, with the original
exception chained as ``__cause__``:

- ``TransientRouterError``: the router is unreachable, slow, full or restarting; retry later.
- ``PermanentRouterError``: the router understood us and said no (a ``!trap`` that retrying
  will not heal), the credentials are wrong, or the TLS identity does not match; a human must act.

The router's own words are kept verbatim in ``message`` so the UI can show them.
This module never imports librouteros: translation lives in ``connection.py``.
"""

from __future__ import annotations


class RouterOSError(Exception):
    """Base of every error the router client raises; ``message`` is shown to operators."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientRouterError(RouterOSError):
    """Retrying later may succeed: the router was unreachable, slow, full or restarting."""


class PermanentRouterError(RouterOSError):
    """Retrying the same request will fail again; a human must change something."""


class ConnectError(TransientRouterError):
    """The TCP (or TLS) connection could not be opened: refused, unreachable, reset."""


class RouterTimeout(TransientRouterError):
    """No answer within the connect or command timeout; the connection was discarded."""


class SessionLimit(TransientRouterError):
    """The router accepted the connection and closed it before login completed.

    RouterOS does this when its API service is at ``max-sessions``; a restart looks the same.
    """


class FatalError(TransientRouterError):
    """The router sent ``!fatal`` (it is closing the connection); the text is the router's."""


class ConnectionLost(TransientRouterError):
    """The connection broke mid-command; the command may or may not have been applied."""


class ProtocolViolation(TransientRouterError):
    """The reply could not be decoded; the connection is out of step and was discarded."""


class RouterTrap(RouterOSError):
    """A ``!trap`` reply: the router's message, its category (may be absent), the command.

    Never raised itself: every trap is either ``TransientTrap`` or ``PermanentTrap``.
    """

    def __init__(self, message: str, *, category: int | None, command: str) -> None:
        super().__init__(message)
        self.category = category
        self.command = command


class TransientTrap(RouterTrap, TransientRouterError):
    """A ``!trap`` that can heal by retrying, e.g. category 2 (``interrupted``)."""


class PermanentTrap(RouterTrap, PermanentRouterError):
    """A ``!trap`` that retrying will not heal: unknown profile, invalid value, no such menu."""


class AuthError(PermanentRouterError):
    """Login was refused (wrong user name or password, or no API permission).

    Permanent on purpose: retrying the same credentials cannot succeed, and repeated bad
    logins may get the worker's address blocked by the router's firewall. The operator must
    fix the router's stored credentials.
    """


class TlsError(PermanentRouterError):
    """The router's certificate failed verification or does not match the pinned fingerprint.

    Permanent: it is a configuration (or security) problem, not a network hiccup.
    """


class ForeignObject(PermanentRouterError):
    """A write by name hit an object that is not tagged as mikrosync's.

    DESIGN.md §1.6: we never rewrite or delete someone else's object unless told to.
    """


# Trap categories that describe a condition of the moment rather than of the request
# (ROUTEROS_API.md §4.1): 2 = execution interrupted.
TRANSIENT_TRAP_CATEGORIES = frozenset({2})


def trap_error(message: str, category: int | None, command: str) -> RouterOSError:
    """Classify one ``!trap`` reply: transient if retrying can heal it, else permanent."""
    if category in TRANSIENT_TRAP_CATEGORIES:
        return TransientTrap(message, category=category, command=command)
    return PermanentTrap(message, category=category, command=command)
