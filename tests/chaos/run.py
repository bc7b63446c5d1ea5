"""Run a chaos profile by hand: `python -m tests.chaos.run --profile full [--seed N] ...`.

Prints the table, writes it to build/chaos/last-run.md (or `--out`), and exits 1 when any
invariant diverged. Logs and the private Redis's files stay in `--run-dir` (a temporary
directory by default, printed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import warnings
from pathlib import Path

from tests.chaos.harness import run_chaos
from tests.chaos.profiles import PROFILES, ChaosProfile

# A run artefact: build/ is git-ignored.
LAST_RUN = Path(__file__).resolve().parents[2] / "build" / "chaos" / "last-run.md"


def parse(argv: list[str] | None = None) -> tuple[ChaosProfile, Path, Path]:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--ops", type=int, help="operator operations")
    parser.add_argument("--faults", type=int, help="faults injected")
    parser.add_argument("--routers", type=int, help="simulated routers (at least 5)")
    parser.add_argument("--workers", type=int, help="worker processes (at least 2)")
    parser.add_argument("--lanes", type=int, help="concurrent operator clients")
    parser.add_argument("--rate", type=float, help="operations per second (0: unlimited)")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"))
    parser.add_argument("--out", type=Path, default=LAST_RUN)
    parser.add_argument("--run-dir", type=Path)
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile].with_overrides(
        seed=args.seed,
        ops=args.ops,
        faults=args.faults,
        routers=args.routers,
        workers=args.workers,
        lanes=args.lanes,
        rate=args.rate,
        backend=args.backend,
    )
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix=f"chaos-{profile.name}-"))
    return profile, run_dir, args.out


def main(argv: list[str] | None = None) -> int:
    profile, run_dir, out = parse(argv)
    warnings.simplefilter("default")
    report = asyncio.run(run_chaos(profile, run_dir))
    text = report.markdown()
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")
    return 1 if report.divergences else 0


if __name__ == "__main__":
    sys.exit(main())
