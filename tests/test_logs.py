"""Structured logs: context ids on every line, secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from mikrosync.logs import log_context, mask_secrets, setup_logging


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def json_logs(output: io.StringIO) -> Iterator[logging.Logger]:
    """JSON logging into `output`; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("INFO", json_lines=True, stream=output)
    yield logging.getLogger("mikrosync.test")
    root.handlers[:], level = saved
    root.setLevel(level)


def test_json_lines_carry_context_ids(json_logs: logging.Logger, output: io.StringIO) -> None:
    with log_context(job_id="42", job="addUser", subscriber_id=7):
        json_logs.info("converged %s", "alice")
    json_logs.info("outside")
    first, second = (json.loads(line) for line in output.getvalue().splitlines())
    assert first["message"] == "converged alice"
    assert (first["job_id"], first["job"], first["subscriber_id"]) == ("42", "addUser", 7)
    assert "subscriber_id" not in second


def test_secrets_are_masked_in_messages_and_tracebacks(
    json_logs: logging.Logger, output: io.StringIO
) -> None:
    json_logs.warning("connect redis://:hunter2@redis:6379/0 with password=s3cret")
    try:
        raise RuntimeError("login failed: password='topsecret'")
    except RuntimeError:
        json_logs.exception("boom")
    output = output.getvalue()
    for secret in ("hunter2", "s3cret", "topsecret"):
        assert secret not in output
    assert "***" in output


def test_mask_secrets_leaves_ordinary_text() -> None:
    assert mask_secrets("subscriber alice synced in 12 ms") == "subscriber alice synced in 12 ms"
