"""Workload 4: reconciliation of one router holding 50,000 secrets (full profile).

The database holds N synced subscribers on one router and the router holds exactly their
secrets (written straight into both, as if a long-running system had converged them; going
through the API and the sync would only make the set-up slow). Then, alternating, each in a
fresh process: a bare librouteros print of `/ppp/secret` (the physical floor for reading the
table) and mikrosync's full `reconcile_router`. The ratio uses each side's fastest run.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.api import ROUTER_PASSWORD
from bench.profiles import Profile
from bench.report import WorkloadResult
from bench.simclient import RouterModel
from bench.stack import REPO, Services, Site, Stack, running, usernames
from mikrosync.clock import now
from mikrosync.runtime import Runtime
from mikrosync.simulator import SimConfig, SimRouter
from mikrosync.subscribers.models import Subscriber

MODEL = RouterModel(rtt_ms=20, service_ms=0.5, max_sessions=20)
BATCH = 5_000


async def _seed_database(stack: Stack, site: Site, names: list[str]) -> list[int]:
    runtime = Runtime.build(stack.settings)
    ids: list[int] = []
    try:
        stamp = now()
        for start in range(0, len(names), BATCH):
            rows = [
                {
                    "tenant_id": site.tenant_id,
                    "router_id": site.router_ids[0],
                    "package_id": site.package_id,
                    "service": "pppoe",
                    "username": name,
                    "password_encrypted": runtime.vault.encrypt(f"pw-{name}"),
                    "is_suspended": False,
                    "pending_removal": False,
                    "sync_status": "synced",
                    "desired_version": 1,
                    "synced_version": 1,
                    "last_synced_at": stamp,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for name in names[start : start + BATCH]
            ]
            async with runtime.sessionmaker() as session:
                result = await session.execute(insert(Subscriber).returning(Subscriber.id), rows)
                ids += list(result.scalars())
                await session.commit()
    finally:
        await runtime.close()
    return ids


def _router_state(site: Site, names: list[str], ids: list[int]) -> dict[str, Any]:
    """The dump of a router holding exactly these secrets, as converge would have written
    them (one real `add` on a scratch simulator gives the row's exact shape)."""
    scratch = SimRouter(SimConfig())
    profile = {
        "name": site.profile_name,
        "rate-limit": "10M/5M",
        "comment": f"mikrosync:t={site.tenant_id}:p={site.package_id}",
    }
    scratch.store.add("/ppp/profile", profile)
    scratch.store.add(
        "/ppp/secret",
        {
            "name": "x",
            "password": "x",
            "profile": site.profile_name,
            "service": "pppoe",
            "comment": "x",
            "disabled": "no",
        },
    )
    state = scratch.dump_state()
    template = state["tables"]["/ppp/secret"]["items"][0]
    items = []
    for n, (name, subscriber_id) in enumerate(zip(names, ids, strict=True)):
        item = dict(template)
        item.update(
            {
                ".id": f"*{n + 1:X}",
                "name": name,
                "password": f"pw-{name}",
                "comment": f"mikrosync:t={site.tenant_id}:s={subscriber_id}",
            }
        )
        items.append(item)
    state["tables"]["/ppp/secret"] = {"next_id": len(items) + 1, "items": items}
    return state


async def _child(stack: Stack, *args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.reconcile_child",
        *args,
        env=stack.env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"reconcile_child {args[0]} failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def run(services: Services, profile: Profile, _context: dict[str, Any]) -> WorkloadResult:
    result = WorkloadResult("4", "reconciliation")
    count = profile.reconcile_secrets
    repeats = 2
    async with running(services, "w4", 1, MODEL, workers=0) as (stack, site):
        names = usernames("r", count)
        began = time.monotonic()
        ids = await _seed_database(stack, site, names)
        state_file = Path(stack.log_dir) / "router-state.json"
        state_file.write_text(json.dumps(_router_state(site, names, ids)), encoding="utf-8")
        await services.simhost.load_state(site.sims.indexes[0], state_file)
        seeded = time.monotonic() - began
        prints, reconciles = [], []
        port = str(site.sims.ports[0])
        for n in range(repeats):
            prints.append(await _child(stack, "print", port, ROUTER_PASSWORD))
            args = ["reconcile", str(site.router_ids[0])]
            if services.profile_dir is not None and n == 0:
                services.profile_dir.mkdir(parents=True, exist_ok=True)
                args.append(str(services.profile_dir / "w4-reconcile.txt"))
            reconciles.append(await _child(stack, *args))
    if any(p["rows"] != count for p in prints):
        raise RuntimeError(f"bare print read {[p['rows'] for p in prints]} rows, not {count}")
    best_print = min(p["elapsed_s"] for p in prints)
    best = min(reconciles, key=lambda r: r["elapsed_s"])
    drift = {k: v for k, v in best["counts"].items() if v}
    result.figure("secrets on the router", count, "", f"seeded in {seeded:.1f} s")
    result.figure(
        "bare librouteros print",
        best_print,
        "s",
        "fastest of " + ", ".join(f"{p['elapsed_s']:.2f}" for p in prints),
    )
    result.figure(
        "mikrosync full reconcile",
        best["elapsed_s"],
        "s",
        "fastest of "
        + ", ".join(f"{r['elapsed_s']:.2f}" for r in reconciles)
        + f"; status {best['status']}, drift found {drift or 'none'}",
    )
    result.at_most("reconcile ÷ bare print", best["elapsed_s"] / best_print, 1.5, "x")
    result.figure(
        "reconcile peak RSS",
        best["peak_rss_mib"],
        "MiB",
        f"{best['rss_before_mib']:.0f} MiB after imports; bare print peaks at "
        f"{max(p['peak_rss_mib'] for p in prints):.0f} MiB",
    )
    result.raw = {"secrets": count, "prints": prints, "reconciles": reconciles}
    return result
