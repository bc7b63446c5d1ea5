"""Many subscribers of one router pushed at once travel as one job (`JobQueue.push_subscribers`)."""

from __future__ import annotations

from mikrosync.jobs.producer import ROUTER_JOB_FROM, group_by_router


def test_a_router_owed_many_changes_gets_one_job_named_as_most_of_them() -> None:
    jobs = [("addUser", i) for i in range(10)] + [("disconnectUser", 10)]
    routers = dict.fromkeys(range(11), 7)
    single, grouped = group_by_router(jobs, routers)
    assert single == []
    assert grouped == [("addUser", 7, list(range(11)))]


def test_few_changes_keep_a_job_each_interleaved_across_routers() -> None:
    per_router = ROUTER_JOB_FROM - 1
    jobs = [("addUser", r * 10 + i) for r in range(3) for i in range(per_router)]
    routers = {subscriber: subscriber // 10 for _, subscriber in jobs}
    single, grouped = group_by_router(jobs, routers)
    assert grouped == []
    assert sorted(single) == sorted(jobs)
    # The first jobs a worker takes are different routers'.
    assert [routers[s] for _, s in single[:3]] == [0, 1, 2]


def test_jobs_of_unknown_routers_are_never_grouped() -> None:
    jobs = [("connectUser", i) for i in range(ROUTER_JOB_FROM * 2)]
    single, grouped = group_by_router(jobs, {})
    assert grouped == []
    assert single == jobs
