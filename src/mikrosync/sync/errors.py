"""Failure classes the queue understands (kopf's TemporaryError / PermanentError).

`mikrosync.jobs` alone translates them: a PermanentError becomes bullmq's UnrecoverableError (no
retry); a TemporaryError is re-raised so bullmq's attempts and backoff retry it. Any other
exception counts as temporary.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of the sync failures; `message` is what the operator sees (the router's words)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemporaryError(SyncError):
    """Retry later: router unreachable, timeout, session limit, a lock held by another job."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(SyncError):
    """Retrying will not help: the router refused the change (its words are kept verbatim)."""
