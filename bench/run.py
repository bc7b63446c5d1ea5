"""Entry point: `python -m bench.run --profile quick|full [--only 1,2] [--out DIR]`.

Starts the shared services (PostgreSQL access, Redis, the simhost), runs the workloads one
after another, each on fresh stacks, and writes JSON, Markdown and PNG to `bench/results/`.
A workload that fails is reported as failed in the table; the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    w1_bulk,
    w2_change,
    w3_isolation,
    w4_reconcile,
    w5_expiry,
    w6_growth,
    w7_scaleout,
    w8_recovery,
    w9_month_end,
)
from bench.profiles import PROFILES, Profile
from bench.report import Row, WorkloadResult, write
from bench.stack import REPO, Services

Workload = Callable[[Services, Profile, dict[str, Any]], Awaitable[WorkloadResult]]
WORKLOADS: dict[str, tuple[str, Workload]] = {
    "1": ("bulk provisioning", w1_bulk.run),
    "2": ("one change", w2_change.run),
    "3": ("API isolation", w3_isolation.run),
    "4": ("reconciliation", w4_reconcile.run),
    "5": ("expiry", w5_expiry.run),
    "6": ("growth", w6_growth.run),
    "7": ("scale-out", w7_scaleout.run),
    "8": ("router recovery", w8_recovery.run),
    "9": ("month end", w9_month_end.run),
}


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            model = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                model,
            )
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} x {model}, {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def main(
    profile: Profile,
    only: list[str],
    out_dir: Path,
    keep: bool,
    profile_processes: bool,
    overrides: dict[str, int | float] | None = None,
) -> int:
    started = time.monotonic()
    every = list(WORKLOADS) == only
    stem = profile.name if every else f"{profile.name}-{'-'.join(only)}"
    if overrides:
        # Sizes other than the profile's are said in the file name and the table's header.
        profile = replace(profile, **overrides)  # type: ignore[arg-type]
        stem += "-" + "-".join(f"{k}{v:g}" for k, v in overrides.items())
    meta: dict[str, Any] = {
        "profile": profile.name,
        # a run of some workloads only does not overwrite the table of a complete run
        "stem": stem,
        "workloads": only,
        "sizes": profile.__dict__,
        "overrides": overrides or {},
        "machine": machine(),
        "commit": commit(),
        "load_start": load(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    work_dir = Path(tempfile.mkdtemp(prefix="mikrosync-bench-"))
    say(f"profile {profile.name}; logs in {work_dir}")
    services = await Services.start(work_dir)
    if profile_processes:
        services.profile_dir = out_dir / "profiles"
    results: list[WorkloadResult] = []
    context: dict[str, Any] = {}
    failed = 0
    try:
        for key in only:
            title, workload = WORKLOADS[key]
            say(f"workload {key}: {title}")
            began = time.monotonic()
            try:
                result = await workload(services, profile, context)
            except Exception as exc:
                failed += 1
                traceback.print_exc()
                result = WorkloadResult(key, title)
                result.rows.append(Row("run", None, note=f"failed: {exc}"[:300]))
            result.raw["elapsed_s"] = round(time.monotonic() - began, 1)
            results.append(result)
            say(f"workload {key} done in {result.raw['elapsed_s']} s")
    finally:
        await services.close()
        if not keep and not failed:
            shutil.rmtree(work_dir, ignore_errors=True)
    meta |= {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_end": load(),
        "elapsed_s": time.monotonic() - started,
        "redis": services.redis_url,
    }
    for path in write(results, meta, out_dir):
        say(f"wrote {path}")
    return 1 if failed else 0


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="e.g. 1,2,5")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--pyinstrument",
        action="store_true",
        help="run serve and workers under pyinstrument; text reports in OUT/profiles/",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SIZE=N",
        help="override one size of the profile (e.g. bulk_subscribers=2500); the table says so",
    )
    args = parser.parse_args()
    overrides: dict[str, int | float] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        default = getattr(PROFILES[args.profile], key, None)
        if not isinstance(default, int | float) or key == "name":
            parser.error(f"--set {item}: not a size of the profile")
        try:
            overrides[key] = type(default)(value)
        except ValueError:
            parser.error(f"--set {item}: not a number")
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in only if k not in WORKLOADS]
    if unknown:
        parser.error(
            f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )
    logging.basicConfig(level=logging.WARNING)
    sys.exit(
        asyncio.run(
            main(
                PROFILES[args.profile],
                only,
                args.out,
                args.keep_logs,
                args.pyinstrument,
                overrides,
            )
        )
    )


if __name__ == "__main__":
    cli()
