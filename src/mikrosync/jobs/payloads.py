"""What each job's data must hold, checked before a handler runs.

A job may come from another program on the same Redis (an old Node.js producer, a script, Bull
Board's "add job"): `{"subscriberId": 4}` instead of `{"subscriber_id": 4}`. Such a job can never
succeed, so retrying it with backoff only hides it for minutes. The worker checks the data first
and fails a bad job at once (bullmq's `UnrecoverableError`: no retry), with a reason that says
what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bullmq import UnrecoverableError

from mikrosync.jobs import names

SUBSCRIBER_SHAPES: tuple[dict[str, str], ...] = (
    {"subscriber_id": "<positive int>"},
    {"router_id": "<positive int>", "subscriber_ids": "[<positive int>, ...]"},
)
"""A subscriber job names one subscriber, or (a mass change) one router and its subscribers."""

_ID_SHAPES: dict[str, dict[str, str]] = {
    names.PROCESS_EXPIRED: {"tenant_id": "<positive int>"},
    names.RECONCILE_ROUTER: {"router_id": "<positive int>"},
    names.SYNC_PACKAGE: {"package_id": "<positive int>"},
    names.SYNC_VOUCHER_BATCH: {"batch_id": "<positive int>"},
}


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _matches(data: Mapping[str, Any], shape: Mapping[str, str]) -> bool:
    for key, kind in shape.items():
        value = data.get(key)
        if kind.startswith("["):
            if not isinstance(value, list) or not all(_positive_int(v) for v in value):
                return False
        elif not _positive_int(value):
            return False
    return True


def expected_shapes(name: str) -> tuple[dict[str, str], ...]:
    """The data shapes job `name` accepts (none: any data)."""
    if name in names.SUBSCRIBER_JOBS:
        return SUBSCRIBER_SHAPES
    shape = _ID_SHAPES.get(name)
    return (shape,) if shape else ()


def _render(shape: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'"{key}": {kind}' for key, kind in shape.items()) + "}"


def check_payload(name: str, data: Any) -> None:
    """Raise `UnrecoverableError` unless `data` fits one of the shapes job `name` accepts."""
    shapes = expected_shapes(name)
    if not shapes:
        return
    if isinstance(data, Mapping) and any(_matches(data, shape) for shape in shapes):
        return
    # The keys only: values from a foreign producer could be anything, a secret included, and
    # the reason is kept in Redis, logged and shown in the console.
    got = f"keys {sorted(map(str, data))}" if isinstance(data, Mapping) else type(data).__name__
    expected = " or ".join(_render(shape) for shape in shapes)
    raise UnrecoverableError(f"invalid job data for {name}: expected data {expected}, got {got}")
