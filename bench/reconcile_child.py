"""One measured reading of a router, in a process of its own (for a clean peak RSS).

    python -m bench.reconcile_child reconcile ROUTER_ID [PROFILE_REPORT]
    python -m bench.reconcile_child print PORT PASSWORD

`reconcile` runs mikrosync's full `reconcile_router` (database snapshot, one streamed print
per menu, classification, repairs, the stored run) with the MIKROSYNC_* environment of the
stack. `print` is the floor: a bare librouteros `/ppp/secret/print` of the same table. Both
print one JSON line: elapsed seconds, peak RSS before and after, and what was read.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any


def _peak_mib() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss, not inherited from the
    parent across fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _reconcile(router_id: int, report: str | None) -> dict[str, Any]:
    from mikrosync.runtime import Runtime
    from mikrosync.settings import Settings
    from mikrosync.sync.reconcile import reconcile_router

    settings = Settings()
    runtime = Runtime.build(settings)
    before = _peak_mib()
    profiler = None
    if report:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    try:
        started = time.perf_counter()
        async with runtime.private_routers(settings=settings) as deps:
            outcome = await reconcile_router(deps, router_id, dry_run=False)
        elapsed = time.perf_counter() - started
    finally:
        if profiler is not None and report:
            profiler.stop()
            with open(report, "w", encoding="utf-8") as handle:
                handle.write(profiler.output_text(unicode=True, color=False))
        await runtime.close()
    return {
        "elapsed_s": elapsed,
        "rss_before_mib": before,
        "peak_rss_mib": _peak_mib(),
        "status": str(outcome.status),
        "counts": outcome.counts,
        "error": outcome.error,
    }


def _print(port: int, password: str) -> dict[str, Any]:
    import librouteros

    before = _peak_mib()
    started = time.perf_counter()
    api = librouteros.connect("127.0.0.1", "admin", password, port=port, timeout=600)
    try:
        rows = list(api.path("ppp", "secret"))
    finally:
        api.close()
    return {
        "elapsed_s": time.perf_counter() - started,
        "rss_before_mib": before,
        "peak_rss_mib": _peak_mib(),
        "rows": len(rows),
    }


def main() -> None:
    what, *args = sys.argv[1:]
    if what == "reconcile":
        result = asyncio.run(_reconcile(int(args[0]), args[1] if len(args) > 1 else None))
    else:
        result = _print(int(args[0]), args[1])
    print(json.dumps(result), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
