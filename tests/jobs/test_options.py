"""Names, job options and the backoff policy, without Redis."""

from __future__ import annotations

import pytest

from mikrosync.jobs import JobInfo, Schedule
from mikrosync.jobs.names import (
    ADD_USER,
    CONNECT_USER,
    DISCONNECT_USER,
    REMOVE_USER,
    RETRY,
    SUBSCRIBER_JOBS,
    UPDATE_USER,
    UPDATE_USER_PACKAGE,
    subscriber_dedup_id,
)
from mikrosync.jobs.options import capped_backoff, job_options, subscriber_job_options
from mikrosync.sync.errors import TemporaryError


def test_seed_job_names_and_dedup_id() -> None:
    assert {ADD_USER, UPDATE_USER_PACKAGE, DISCONNECT_USER, CONNECT_USER, REMOVE_USER} == {
        "addUser",
        "updateUserPackage",
        "disconnectUser",
        "connectUser",
        "removeUser",
    }
    assert {UPDATE_USER, RETRY} < SUBSCRIBER_JOBS
    assert subscriber_dedup_id(42) == "subscriber-42"


def test_subscriber_jobs_keep_one_active_and_one_waiting() -> None:
    opts = subscriber_job_options(7, priority=1)
    assert opts["deduplication"] == {"id": "subscriber-7", "keepLastIfActive": True}
    assert opts["priority"] == 1
    assert opts["backoff"] == {"type": "capped"}
    assert opts["removeOnComplete"] > 0
    assert opts["removeOnFail"] > 0


def test_plain_job_options_leave_out_what_is_not_asked_for() -> None:
    opts = job_options(attempts=3)
    assert opts["attempts"] == 3
    assert not {"priority", "delay", "jobId", "deduplication"} & opts.keys()


def test_backoff_doubles_up_to_the_cap() -> None:
    strategy = capped_backoff(1000, 60_000)
    delays = [strategy(n, "capped", RuntimeError("x"), None) for n in range(1, 10)]
    assert delays == [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]


def test_backoff_honours_a_temporary_errors_delay_within_the_cap() -> None:
    strategy = capped_backoff(1000, 5000)
    assert strategy(1, "capped", TemporaryError("busy", delay=0.25), None) == 250
    assert strategy(1, "capped", TemporaryError("busy", delay=60), None) == 5000
    assert strategy(3, "capped", TemporaryError("busy"), None) == 4000
    assert strategy(1, "capped", TemporaryError("busy", delay=0), None) == 1


def test_job_info_knows_its_last_attempt() -> None:
    first = JobInfo(id="1", name=ADD_USER, data={}, attempt=1, max_attempts=2)
    last = JobInfo(id="1", name=ADD_USER, data={}, attempt=2, max_attempts=2)
    assert (first.is_last_attempt, last.is_last_attempt) == (False, True)


def test_schedule_needs_exactly_one_timing() -> None:
    assert Schedule("sweepPending", every_ms=5000).repeat_options() == {"every": 5000}
    assert Schedule("x", cron="0 * * * *", key="k").scheduler_id == "k"
    with pytest.raises(ValueError):
        Schedule("x")
    with pytest.raises(ValueError):
        Schedule("x", every_ms=1, cron="* * * * *")
