"""The one source of "now", so that tests and expiry logic agree on UTC-aware times."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
