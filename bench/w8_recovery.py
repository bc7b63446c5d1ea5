"""Workload 8: router recovery. One router goes offline while N changes pile up for it (5,000
in full): 40 % creations, 20 % suspensions, 20 % package changes, 20 % deletions; then it
comes back.

Set-up (not measured): the subscribers the changes act on are imported and synced first,
and the ones to be suspended or deleted dial in (so each owes a disconnect). A second
package's profile is already on the router, as the first one's is. Then the router goes
down (the simhost cuts its connections and refuses new ones) and the changes are made
through the API (a CSV import for the creations, single requests from 20 clients for the
rest); the workers meanwhile find the router offline and leave the rows pending.

Measured: router back up → every row of the router `synced` and every deleted one gone
(the database polled every 20 ms), and the router's own log for its last write. Against
the router-model bound of that router — creation 1 command (`add`), suspension 2 (`set`
disabled, `remove` the session), package change 1 (`set` the profile), deletion 2 (`remove`
the login, `remove` the session) — and the pipelined limit. Worker CPU per change and the
CPU-seconds of every part over the same window. Afterwards the router is checked: the
logins that must remain, and no session left.

Today's engine learns that a router is back from its health check (every 30 s by default,
`MIKROSYNC_HEALTH_INTERVAL_S`), which the figure includes: that is what an operator waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from bench.api import csv_text
from bench.bound import ADD, DELETE_ONLINE, DISCONNECT_ONLINE, SET, workload_bound
from bench.bulk import seed_subscribers
from bench.figures import bound_rows, cpu_rows
from bench.profiles import Profile
from bench.report import WorkloadResult
from bench.stack import POLL_S, Services, Stack, cpu_delta, running, usernames
from bench.w1_bulk import MODEL

CLIENTS = 20
# Seconds to wait, once the changes are in, for the workers to have met the offline router.
PILE_UP_S = 2.0


async def _clients(calls: list[Callable[[], Awaitable[Any]]], clients: int) -> None:
    queue: asyncio.Queue[Callable[[], Awaitable[Any]]] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)

    async def client() -> None:
        while not queue.empty():
            await queue.get_nowait()()

    await asyncio.gather(*(client() for _ in range(clients)))


async def _wait_recovered(stack: Stack, router_id: int, remaining: int, timeout: float) -> float:
    """Until the router's rows are exactly `remaining`, all synced; returns monotonic time."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await stack.status_counts([router_id])
        if counts.get("synced", 0) == remaining and sum(counts.values()) == remaining:
            return time.monotonic()
        if counts.get("error"):
            raise RuntimeError(f"{counts['error']} subscriber(s) in error: {counts}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not recovered after {timeout:.0f} s: {counts}, {remaining} owed")
        await asyncio.sleep(POLL_S)


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("8", "router recovery")
    n = profile.recovery_changes
    creations = n * 2 // 5
    suspensions = n // 5
    packages = n // 5
    deletions = n - creations - suspensions - packages
    existing = suspensions + packages + deletions
    simhost = services.simhost
    async with running(services, "w8", 1, MODEL) as (stack, site):
        index = site.sims.indexes[0]
        router_id = site.router_ids[0]
        other = await stack.api.create_package("Home 2", "20M/10M")
        await simhost.add_row(
            index,
            "/ppp/profile",
            {
                "name": other["profile_name"],
                "rate-limit": other["rate_limit"],
                "comment": f"mikrosync:t={stack.tenant_id}:p={other['id']}",
            },
        )
        members = await seed_subscribers(
            stack, site, [usernames("o", existing)], timeout=profile.timeout_s
        )
        to_suspend = members[:suspensions]
        to_change = members[suspensions : suspensions + packages]
        to_delete = members[suspensions + packages :]
        online = [m.username for m in to_suspend + to_delete]
        for start in range(0, len(online), 500):
            await simhost.dial_in(index, online[start : start + 500])

        await simhost.go_down([index])
        piled = time.monotonic()
        await stack.api.import_csv(
            router_id, csv_text(usernames("n", creations), site.package_name)
        )
        api = stack.api
        calls: list[Callable[[], Awaitable[Any]]] = []
        calls += [partial(api.action, m.id, "suspend") for m in to_suspend]
        change = {"package_id": other["id"]}
        calls += [partial(api.patch, f"/subscribers/{m.id}", change) for m in to_change]
        calls += [partial(api.delete_subscriber, m.id) for m in to_delete]
        await _clients(calls, CLIENTS)
        pile_s = time.monotonic() - piled
        await asyncio.sleep(PILE_UP_S)
        before = await stack.status_counts([router_id])

        await simhost.mark_log()
        cpu_before = stack.cpu()
        up = time.monotonic()
        up_wall = time.time()
        await simhost.come_up([index])
        remaining = existing - deletions + creations
        done = await _wait_recovered(stack, router_id, remaining, profile.timeout_s)
        cpu = cpu_delta(cpu_before, stack.cpu())
        writes = [w for w in await simhost.new_writes() if w.router == index and w.is_write]
        secrets = await simhost.count(index, "/ppp/secret")
        sessions = await simhost.count(index, "/ppp/active")
    took = done - up
    if secrets != remaining or sessions:
        raise RuntimeError(
            f"after recovery the router holds {secrets} logins ({remaining} expected) and "
            f"{sessions} sessions (0 expected)"
        )
    minimum = creations * ADD + suspensions * DISCONNECT_ONLINE
    minimum += packages * SET + deletions * DELETE_ONLINE
    bound = workload_bound({0: minimum}, MODEL)
    last_write = max((w.at for w in writes), default=up_wall) - up_wall
    result.figure(
        "router back up → all synced",
        took,
        "s",
        f"{n} changes ({creations} creations, {suspensions} suspensions, {packages} package "
        f"changes, {deletions} deletions) made in {pile_s:.1f} s while it was down "
        f"(rows then: {before}); its last write {last_write:.2f} s after it came up",
    )
    bound_rows(result, "recovery: all synced", took, bound)
    result.figure(
        "router writes per change",
        len(writes) / n,
        "",
        f"{len(writes)} writes; minimum {minimum / n:.2f} ({minimum} commands)",
    )
    cpu_rows(result, "recovery", cpu, took, n)
    result.throughput.append(("recovery, one router", n, n / took))
    result.raw = {
        "changes": n,
        "creations": creations,
        "suspensions": suspensions,
        "package_changes": packages,
        "deletions": deletions,
        "seconds": took,
        "last_write_s": last_write,
        "statuses_before_up": before,
        "bound_s": bound.seconds,
        "bound": bound.arithmetic,
        "pipelined_limit_s": bound.pipelined_seconds,
        "pipelined_limit": bound.pipelined_arithmetic,
        "writes": len(writes),
        "cpu_seconds": cpu,
    }
    return result
