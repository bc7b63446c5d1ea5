"""Workload 2: one change at a time on an idle system, RTT 20 ms (500 changes in full).

The changes cycle through suspend (the subscriber is online first, so the session must be
ended), reconnect, and a password change. Each change is sent, then the next one waits until
the database says the previous one is synced. Two times are read per change:

- commit: the `requested` timeline event the API wrote in the change's transaction;
- converged on the router: the simulated router's own clock when it applied the change's
  last write (its write log), so neither the worker's confirmation nor our polling is in it.

Also reported: commit → `synced` in the database (what an operator sees in the UI).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.bulk import Member, seed_subscribers
from bench.profiles import Profile
from bench.report import WorkloadResult, percentile
from bench.simclient import RouterModel, WriteEntry
from bench.stack import Services, Stack, running, spread, usernames

MODEL = RouterModel(rtt_ms=20, service_ms=0.5, max_sessions=20)
ROUTERS = 2
SUBSCRIBERS = 30
KINDS = ("suspend", "connect", "password")


async def _change(stack: Stack, site_index: int, member: Member, kind: str, n: int) -> None:
    if kind == "suspend":
        await stack.services.simhost.dial_in(site_index, [member.username])
        await stack.api.action(member.id, "suspend")
    elif kind == "connect":
        await stack.api.action(member.id, "connect")
    else:
        await stack.api.patch(f"/subscribers/{member.id}", {"password": f"new-pw-{n}"})


async def _wait_synced(stack: Stack, subscriber_id: int, timeout: float = 60.0) -> float:
    assert stack.db is not None
    deadline = time.monotonic() + timeout
    while True:
        row = await stack.db.fetchrow(
            "SELECT sync_status, synced_version, desired_version FROM subscribers WHERE id = $1",
            subscriber_id,
        )
        assert row is not None
        if row["sync_status"] == "synced" and row["synced_version"] == row["desired_version"]:
            return time.time()
        if row["sync_status"] == "error" or time.monotonic() > deadline:
            raise RuntimeError(f"subscriber {subscriber_id} did not sync: {dict(row)}")
        await asyncio.sleep(0.005)


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("2", "one change at a time")
    async with running(services, "w2", ROUTERS, MODEL) as (stack, site):
        names = spread(usernames("c", SUBSCRIBERS), ROUTERS)
        members = await seed_subscribers(stack, site, names, timeout=profile.timeout_s)
        sim_of = dict(zip(site.router_ids, site.sims.indexes, strict=True))
        await asyncio.sleep(1.0)  # let the queue settle: "an idle system"
        await services.simhost.mark_log()
        windows: list[tuple[Member, str, int, float]] = []
        state = dict.fromkeys((m.id for m in members), "connected")
        for n in range(profile.changes):
            # each subscriber in turn is suspended, reconnected, then given a new password
            member = members[(n // len(KINDS)) % len(members)]
            kind = KINDS[n % len(KINDS)]
            if kind == "connect" and state[member.id] != "suspended":
                kind = "password"
            if kind == "suspend" and state[member.id] == "suspended":
                kind = "connect"
            state[member.id] = "suspended" if kind == "suspend" else "connected"
            await _change(stack, sim_of[member.router_id], member, kind, n)
            windows.append((member, kind, n, await _wait_synced(stack, member.id)))
        writes = await services.simhost.new_writes()
        assert stack.db is not None
        events = await stack.db.fetch(
            "SELECT subscriber_id, desired_version, created_at FROM sync_events "
            "WHERE outcome = 'requested' AND subscriber_id = ANY($1::int[]) ORDER BY id",
            [m.id for m in members],
        )
    commits = _commit_times(events)
    figures = _latencies(windows, commits, writes, sim_of)
    to_router, to_db, by_kind = figures["to_router"], figures["to_db"], figures["by_kind"]
    for label, samples in (
        ("commit → converged on router", to_router),
        ("commit → synced in DB", to_db),
    ):
        result.latencies_ms[label] = samples
    result.figure("changes", len(to_router), "", f"{profile.changes} sent one at a time, RTT 20 ms")
    result.figure("commit → converged on router p50", percentile(to_router, 50), "ms")
    result.figure("commit → converged on router p95", percentile(to_router, 95), "ms")
    result.at_most("commit → converged on router p99", percentile(to_router, 99), 250, "ms")
    result.figure(
        "commit → synced in DB p50 / p99",
        percentile(to_db, 50),
        "ms",
        f"p99 {percentile(to_db, 99):.0f} ms (what the UI shows)",
    )
    result.raw = {
        "p50_ms": percentile(to_router, 50),
        "p95_ms": percentile(to_router, 95),
        "p99_ms": percentile(to_router, 99),
        "db_p50_ms": percentile(to_db, 50),
        "db_p99_ms": percentile(to_db, 99),
        "commit_to_first_command_p50_ms": percentile(figures["to_first"], 50),
        "first_command_to_last_write_p50_ms": percentile(figures["router_phase"], 50),
        "by_kind_p50_ms": {k: percentile(v, 50) for k, v in by_kind.items()},
        "by_kind_p99_ms": {k: percentile(v, 99) for k, v in by_kind.items()},
    }
    result.figure(
        "where a change's time goes (p50)",
        percentile(figures["to_first"], 50),
        "ms",
        "commit → the router executes the job's first command (queue, job start, claim, "
        "plus that command's own RTT); then "
        f"{percentile(figures['router_phase'], 50):.0f} ms from it to the last write "
        "(the rest of the router conversation)",
    )
    result.notes.append(
        "p50 by kind: " + ", ".join(f"{k} {percentile(v, 50):.0f} ms" for k, v in by_kind.items())
    )
    return result


def _commit_times(events: list[Any]) -> dict[tuple[int, int], list[float]]:
    commits: dict[tuple[int, int], list[float]] = {}
    for event in events:
        key = (event["subscriber_id"], event["desired_version"])
        commits.setdefault(key, []).append(event["created_at"].timestamp())
    return commits


def _latencies(
    windows: list[tuple[Member, str, int, float]],
    commits: dict[tuple[int, int], list[float]],
    commands: list[WriteEntry],
    sim_of: dict[int, int],
) -> dict[str, Any]:
    """Per change: the newest `requested` event before its sync; the first command its
    router executed after that commit (changes go one at a time, so it is this job's: the
    job has been picked up and has claimed the row; the router executes a command one RTT
    after it was sent), and the last write to its login or session before the database
    said synced."""
    out: dict[str, Any] = {"to_router": [], "to_db": [], "to_first": [], "router_phase": []}
    by_kind: dict[str, list[float]] = {}
    previous_end = 0.0
    for member, kind, _, synced_at in windows:
        committed = max(
            (
                t
                for (sid, _), ts in commits.items()
                if sid == member.id
                for t in ts
                if t <= synced_at
            ),
            default=None,
        )
        mine = [
            c for c in commands if member.username in c.names and previous_end < c.at <= synced_at
        ]
        previous_end = synced_at
        applied = [c.at for c in mine if c.is_write]
        if committed is None or not applied:
            continue
        first = min(
            (c.at for c in commands if c.router == sim_of[member.router_id] and c.at > committed),
            default=min(c.at for c in mine),
        )
        ms = (max(applied) - committed) * 1000
        out["to_router"].append(ms)
        out["to_db"].append((synced_at - committed) * 1000)
        out["to_first"].append((first - committed) * 1000)
        out["router_phase"].append((max(applied) - first) * 1000)
        by_kind.setdefault(kind, []).append(ms)
    out["by_kind"] = by_kind
    return out
