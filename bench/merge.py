"""One table from several runs: `python -m bench.merge results/full-1-5.json results/full-4.json`.

Prints Markdown: every figure that has a goal (the ratios, with pass/miss) from each file's
workloads, in workload order, each with the run it comes from (stem, when, commit, load), so
a table merged from runs taken at different times says so. A workload present in several
files is taken from the last file named. `--all` also prints the figures without a goal.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.report import _fmt, _mark


def merged(paths: list[Path], every: bool) -> str:
    workloads: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    runs: list[dict[str, Any]] = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta = data["meta"] | {"stem": path.stem}
        runs.append(meta)
        for workload in data["workloads"]:
            if not any(row["metric"] == "run" and row["value"] is None for row in workload["rows"]):
                workloads[workload["key"]] = (workload, meta)
    lines = [
        "| # | workload | figure | value | goal | pass/miss | run |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in sorted(workloads, key=int):
        workload, meta = workloads[key]
        for row in workload["rows"]:
            if not (every or row["goal"]):
                continue
            lines.append(
                f"| {key} | {workload['title']} | {row['metric']} "
                f"| {_fmt(row['value'], row['unit'])} | {row['goal']} | {_mark(row['passed'])} "
                f"| `{meta['stem']}` |"
            )
    lines += ["", "| run | taken (UTC) | commit | load average start → end | sizes changed |"]
    lines += ["|---|---|---|---|---|"]
    for meta in runs:
        overrides = ", ".join(f"{k}={v:g}" for k, v in meta.get("overrides", {}).items())
        lines.append(
            f"| `{meta['stem']}` | {meta['started']} → {meta['finished'][11:]} "
            f"| {meta['commit']} | {meta['load_start']} → {meta['load_end']} "
            f"| {overrides or 'none'} |"
        )
    return "\n".join(lines) + "\n"


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--all", action="store_true", help="also the figures without a goal")
    args = parser.parse_args()
    print(merged(args.files, args.all), end="")  # noqa: T201


if __name__ == "__main__":
    cli()
