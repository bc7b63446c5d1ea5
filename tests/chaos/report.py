"""The run's result: one table, printed and written as Markdown (build/chaos/last-run.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.chaos.profiles import ChaosProfile


@dataclass
class RunReport:
    profile: ChaosProfile
    planned_ops: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    unfired_faults: int = 0
    technician: Counter[str] = field(default_factory=Counter)
    technician_failed: int = 0
    technician_skipped: int = 0
    dial_ins: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors_before_retry: Counter[str] = field(default_factory=Counter)
    errors_at_end: Counter[str] = field(default_factory=Counter)
    drift_found: Counter[str] = field(default_factory=Counter)
    drift_after: Counter[str] = field(default_factory=Counter)
    checked_on_router: int = 0
    divergences: list[tuple[str, str]] = field(default_factory=list)
    known: list[tuple[str, str]] = field(default_factory=list)
    """Divergences caused by a product bug already reported, whose fix is not applied yet."""
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    run_dir: str = ""

    @property
    def operations(self) -> int:
        return sum(self.planned_ops.values())

    @property
    def fault_count(self) -> int:
        return sum(self.faults.values())

    def markdown(self) -> str:
        p = self.profile
        lines = [
            f"# Chaos run: profile `{p.name}`, seed {p.seed}",
            "",
            f"{self.operations} operations, {self.fault_count} faults, {p.routers} routers, "
            f"{p.workers} workers x {p.worker_concurrency} slots, {p.lanes} operator lanes at "
            f"{p.rate or 'unlimited'} ops/s, {p.backend}.",
            "",
            "| operations | planned | accepted | refused | failed (5xx) | skipped |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        refused_by_kind: Counter[str] = Counter()
        for label, count in self.refused.items():
            refused_by_kind[label.split(" (")[0]] += count
        for kind in sorted(self.planned_ops):
            lines.append(
                f"| {kind} | {self.planned_ops[kind]} | {self.accepted[kind]} | "
                f"{refused_by_kind[kind]} | {self.failed[kind]} | {self.skipped[kind]} |"
            )
        lines.append(
            f"| **total** | **{self.operations}** | **{sum(self.accepted.values())}** | "
            f"**{sum(self.refused.values())}** | **{sum(self.failed.values())}** | "
            f"**{sum(self.skipped.values())}** |"
        )
        if self.refused:
            details = ", ".join(f"{k}: {v}" for k, v in sorted(self.refused.items()))
            lines += ["", f"Refusals: {details}."]
        lines += ["", "| faults | injected |", "|---|---:|"]
        lines += [f"| {kind} | {n} |" for kind, n in sorted(self.faults.items())]
        lines.append(f"| **total** | **{self.fault_count}** |")
        lines += [
            "",
            f"Armed router faults that never fired (no matching command came): "
            f"{self.unfired_faults}.",
            "",
            "| technician at the console | done |",
            "|---|---:|",
        ]
        lines += [f"| {kind} | {n} |" for kind, n in sorted(self.technician.items())]
        lines += [
            f"| **total** (and {self.technician_failed} hit by a fault, "
            f"{self.technician_skipped} found nothing to act on) | "
            f"**{sum(self.technician.values())}** |",
            "",
            f"Customer dial-ins: {self.dial_ins}. API latency under chaos: p50 "
            f"{self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms.",
            "",
            "| outcome | value |",
            "|---|---:|",
            f"| subscribers at the end | {_counts(self.statuses)} |",
            f"| errors when the load stopped (by reason) | {_counts(self.errors_before_retry)} |",
            f"| errors at the end, after Retry (by reason) | {_counts(self.errors_at_end)} |",
            f"| drift the reconciliation found | {_counts(self.drift_found)} |",
            f"| drift left after it (dry run) | {_counts(self.drift_after)} |",
            f"| subscribers checked object by object on their router | {self.checked_on_router} |",
        ]
        for label, seconds in self.timings.items():
            lines.append(f"| {label} | {seconds:.1f} s |")
        lines.append(f"| **divergences** | **{len(self.divergences)}** |")
        if self.known:
            lines.append(f"| divergences from known bugs (fix proposed) | {len(self.known)} |")
        if self.divergences:
            lines += ["", "## Divergences", ""]
            lines += [f"- **{kind}**: {detail}" for kind, detail in self.divergences[:200]]
        if self.known:
            lines += ["", "## Divergences from known product bugs", ""]
            lines += [f"- **{kind}**: {detail}" for kind, detail in self.known[:100]]
        if self.problems:
            lines += ["", "## Harness notes", ""]
            lines += [f"- {problem}" for problem in self.problems[:100]]
        if self.run_dir:
            lines += ["", f"Logs: `{self.run_dir}`"]
        return "\n".join(lines) + "\n"


def _counts(counter: Counter[str]) -> str:
    if not counter:
        return "none"
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items()) if n)
