"""The rows every bulk figure gets (issue 13): both bounds, worker CPU per subscriber, and the
CPU-seconds of each part of the system in the measured window.

The two bounds (`bound.py`): the router-model bound, which the goal (≤ 1.5x) is against, and
the pipelined limit (C x service + RTT), which shows how far pipelining could go. The CPU
split tells a miss caused by the simulated routers (one simhost process, one core at most)
from one caused by mikrosync.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bench.bound import Bound
from bench.report import WorkloadResult

BOUND_GOAL = 1.5
WORKER_CPU_GOAL_MS = 0.5
# Parts whose CPU is reported, in this order (the bench driver's own CPU is left out: it polls).
PARTS = ("workers", "api", "postgres (this db)", "routers (simhost)")


def bound_rows(
    result: WorkloadResult,
    label: str,
    seconds: float,
    bound: Bound,
    *,
    goal: bool = True,
) -> None:
    """`label ÷ router-model bound` (with the goal unless `goal` is False) and
    `label ÷ pipelined limit`, each with its arithmetic."""
    ratio = seconds / bound.seconds
    note = f"{seconds:.2f} s ÷ bound {bound.arithmetic}"
    if goal:
        result.at_most(f"{label} ÷ router-model bound", ratio, BOUND_GOAL, "x", note)
    else:
        result.figure(f"{label} ÷ router-model bound", ratio, "x", note)
    result.figure(
        f"{label} ÷ pipelined limit",
        seconds / bound.pipelined_seconds,
        "x",
        f"{seconds:.2f} s ÷ limit {bound.pipelined_arithmetic}",
    )


def cpu_split(cpu: Mapping[str, float], seconds: float) -> str:
    """`workers 1.2, api 0.1, ... CPU-s in 2.0 s (0.75 cores; the machine 1.9 of 2 busy)`."""
    busy = sum(cpu.get(part, 0.0) for part in PARTS)
    parts = ", ".join(f"{part} {cpu.get(part, 0.0):.2f}" for part in PARTS)
    window = max(seconds, 1e-9)
    text = f"{parts} CPU-s in {seconds:.2f} s ({busy / window:.2f} cores in all"
    machine = cpu.get("machine (every process)")
    if machine is not None:
        # Everyone else's load on a shared machine: cores busy that were none of ours.
        text += (
            f"; the machine's {os.cpu_count()} CPUs {machine / window:.2f} busy, "
            f"{max(0.0, machine - busy - cpu.get('bench driver', 0.0)) / window:.2f} of it "
            "other work"
        )
    return text + ")"


def cpu_rows(
    result: WorkloadResult,
    label: str,
    cpu: Mapping[str, float],
    seconds: float,
    subscribers: int,
    *,
    goal: bool = True,
) -> float:
    """Worker CPU per subscriber in the window (with the ≤ 0.5 ms goal unless `goal` is
    False), and the CPU-seconds of every part in it; returns the ms per subscriber."""
    per = 1000 * cpu.get("workers", 0.0) / max(subscribers, 1)
    note = (
        f"{cpu.get('workers', 0.0):.2f} worker CPU-s ÷ {subscribers} subscribers; "
        f"one process saturates a core at about {1000 / max(per, 0.001):.0f} subscribers/s"
    )
    if goal:
        result.at_most(f"{label}: worker CPU per subscriber", per, WORKER_CPU_GOAL_MS, "ms", note)
    else:
        result.figure(f"{label}: worker CPU per subscriber", per, "ms", note)
    result.figure(
        f"{label}: CPU-seconds per part",
        sum(cpu.get(part, 0.0) for part in PARTS),
        "CPU-s",
        cpu_split(cpu, seconds)
        + "; the routers near 1 core means the simulation, not mikrosync, set the pace",
    )
    return per
