"""The shapes of job data the worker accepts (issue 14, defect 4; the worker run that fails a
bad job at once is tests/e2e/test_queue_fidelity.py)."""

from __future__ import annotations

from typing import Any

import pytest
from bullmq import UnrecoverableError

from mikrosync.jobs import names
from mikrosync.jobs.payloads import check_payload


@pytest.mark.parametrize(
    ("name", "data"),
    [
        (names.ADD_USER, {"subscriber_id": 4}),
        (names.UPDATE_USER, {"subscriber_id": 4, "extra": "ignored"}),
        (names.DISCONNECT_USER, {"router_id": 2, "subscriber_ids": [4, 5]}),
        (names.RECONCILE_ROUTER, {"router_id": 2}),
        (names.PROCESS_EXPIRED, {"tenant_id": 1}),
        (names.SYNC_PACKAGE, {"package_id": 3}),
        (names.SYNC_VOUCHER_BATCH, {"batch_id": 9}),
        (names.SWEEP_PENDING, {}),
    ],
)
def test_good_data_passes(name: str, data: dict[str, Any]) -> None:
    check_payload(name, data)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (names.ADD_USER, {"subscriberId": 4}, '{"subscriber_id": <positive int>}'),
        (names.ADD_USER, {"subscriber_id": "4"}, '{"subscriber_id": <positive int>}'),
        (names.ADD_USER, {"subscriber_id": 0}, '{"subscriber_id": <positive int>}'),
        (names.ADD_USER, {"subscriber_id": True}, '{"subscriber_id": <positive int>}'),
        (names.CONNECT_USER, None, '{"subscriber_id": <positive int>}'),
        (
            names.REMOVE_USER,
            {"router_id": 2, "subscriber_ids": ["x"]},
            '{"router_id": <positive int>, "subscriber_ids": [<positive int>, ...]}',
        ),
        (names.RECONCILE_ROUTER, {"routerId": 2}, '{"router_id": <positive int>}'),
    ],
)
def test_bad_data_is_unrecoverable_and_says_what_was_expected(
    name: str, data: Any, expected: str
) -> None:
    with pytest.raises(UnrecoverableError) as raised:
        check_payload(name, data)
    assert f"expected data {expected}" in str(raised.value) or expected in str(raised.value)
    assert name in str(raised.value)


def test_the_reason_names_keys_never_values() -> None:
    with pytest.raises(UnrecoverableError) as raised:
        check_payload(names.ADD_USER, {"subscriberId": 4, "password": "hunter2-secret"})
    assert "hunter2-secret" not in str(raised.value)
    assert "['password', 'subscriberId']" in str(raised.value)
