"""Results: the figures of each workload, written as JSON, a Markdown table and PNG plots."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One line of the table: a figure, its goal and whether the goal was met."""

    metric: str
    value: float | None
    unit: str = ""
    goal: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class WorkloadResult:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    """Samples for the latency-distribution plot, per series."""
    throughput: list[tuple[str, int, float]] = field(default_factory=list)
    """(series, workload size, items per second) for the throughput-vs-size plot."""
    notes: list[str] = field(default_factory=list)

    def figure(self, metric: str, value: float | None, unit: str = "", note: str = "") -> Row:
        row = Row(metric, value, unit, note=note)
        self.rows.append(row)
        return row

    def at_most(
        self, metric: str, value: float, limit: float, unit: str = "", note: str = ""
    ) -> Row:
        row = Row(metric, value, unit, f"≤ {limit:g}", value <= limit, note)
        self.rows.append(row)
        return row

    def at_least(
        self, metric: str, value: float, limit: float, unit: str = "", note: str = ""
    ) -> Row:
        row = Row(metric, value, unit, f"≥ {limit:g}", value >= limit, note)
        self.rows.append(row)
        return row


def percentile(samples: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def _mark(passed: bool | None) -> str:
    return {True: "pass", False: "**miss**", None: ""}[passed]


def markdown(results: Sequence[WorkloadResult], meta: dict[str, Any]) -> str:
    lines = [
        f"# mikrosync benchmarks — {meta['profile']} profile"
        + (
            f", workloads {', '.join(meta['workloads'])}"
            if meta.get("stem") != meta["profile"]
            else ""
        ),
        "",
        f"Taken {meta['finished']} on {meta['machine']}; mikrosync {meta['commit']}. "
        f"Load average at start {meta['load_start']}, at end {meta['load_end']}. "
        f"Run time {meta['elapsed_s']:.0f} s.",
        "",
        "Every ratio compares two figures taken in this one run on this one machine.",
        "",
        *(
            [
                "**Reduced sizes**: this run overrode the profile's sizes with "
                + ", ".join(f"`{k}={v:g}`" for k, v in meta["overrides"].items())
                + "; figures of the workloads that use them are not the profile's.",
                "",
            ]
            if meta.get("overrides")
            else []
        ),
        "| # | workload | figure | value | goal | pass/miss | how |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for row in result.rows:
            lines.append(
                f"| {result.key} | {result.title} | {row.metric} | {_fmt(row.value, row.unit)} "
                f"| {row.goal} | {_mark(row.passed)} | {row.note} |"
            )
    notes = [(r.key, n) for r in results for n in r.notes]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- ({key}) {note}" for key, note in notes]
    lines.append("")
    return "\n".join(lines)


def _plot_latencies(results: Sequence[WorkloadResult], path: Path, title: str) -> bool:
    series = [(f"{r.key} {name}", s) for r in results for name, s in r.latencies_ms.items() if s]
    if not series:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(len(series) / 2)
    fig, axes = plt.subplots(rows, 2, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, (name, samples) in zip(axes.flat, series, strict=False):
        ordered = sorted(samples)
        fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
        ax.plot(ordered, fractions, drawstyle="steps-post")
        for p, style in ((50, ":"), (99, "--")):
            ax.axvline(percentile(ordered, p), linestyle=style, color="grey", linewidth=0.8)
        ax.set_title(f"{name} (n={len(ordered)}; p50 : p99 --)", fontsize=9)
        ax.set_xlabel("ms")
        ax.set_ylabel("fraction ≤ x")
        ax.set_xscale("log" if ordered[0] > 0 and ordered[-1] / ordered[0] > 50 else "linear")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(series) :]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: latency distributions (CDF)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _plot_throughput(results: Sequence[WorkloadResult], path: Path, title: str) -> bool:
    # Series are named without the workload key, so item 1 and its 10x (item 6) join up.
    points = list(
        {
            (name, size): (name, size, rate) for r in results for name, size, rate in r.throughput
        }.values()
    )
    if not points:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name in dict.fromkeys(p[0] for p in points):
        mine = sorted((size, rate) for n, size, rate in points if n == name)
        ax.plot([m[0] for m in mine], [m[1] for m in mine], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("workload size (subscribers)")
    ax.set_ylabel("per second")
    ax.set_title(f"{title}: throughput against workload size")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write(results: Sequence[WorkloadResult], meta: dict[str, Any], out_dir: Path) -> list[Path]:
    """`<stem>.json`, `<stem>.md`, `<stem>-latency.png`, `<stem>-throughput.png`; the stem is
    the profile's name, plus the workloads when the run did not run them all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = meta.get("stem", meta["profile"])
    written = []
    data = {"meta": meta, "workloads": [asdict(r) for r in results]}
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(markdown(results, meta), encoding="utf-8")
    written += [json_path, md_path]
    latency = out_dir / f"{stem}-latency.png"
    if _plot_latencies(results, latency, stem):
        written.append(latency)
    throughput = out_dir / f"{stem}-throughput.png"
    if _plot_throughput(results, throughput, stem):
        written.append(throughput)
    return written
