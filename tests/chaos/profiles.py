"""Run sizes. `short` runs in CI as part of the normal suite; `full` is run by hand.

Every knob can be overridden (pytest `--chaos-*` options, or `python -m tests.chaos.run`
flags); the plan is a pure function of the profile, so one seed always means the same
operations, technician actions and faults in the same per-subscriber order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

Backend = Literal["postgresql", "sqlite"]


@dataclass(frozen=True)
class ChaosProfile:
    name: str
    seed: int = 1
    ops: int = 600
    """Operator operations (creates, changes, suspends, ...), all through the API except the
    `api_crash` ones (intent committed through the service layer, never pushed)."""
    faults: int = 40
    """Faults injected while the load runs (api_crash faults included)."""
    routers: int = 5
    workers: int = 2
    worker_concurrency: int = 4
    lanes: int = 6
    """Concurrent operator clients. Each subscriber belongs to one lane, so its writes are
    sequential and "the last accepted write" is well defined."""
    rate: float = 30.0
    """Operations started per second across all lanes (0: as fast as they go)."""
    tech_every: int = 20
    """One technician action per this many operations."""
    backend: Backend = "postgresql"
    expiry_horizon_s: float = 15.0
    """Near expiry instants are set this far ahead at most, so they fall during the run."""
    quiesce_timeout_s: float = 90.0

    def with_overrides(self, **changes: Any) -> ChaosProfile:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROFILES: dict[str, ChaosProfile] = {
    # About a minute on a loaded 2-core machine, setup and checks included.
    "short": ChaosProfile(name="short", ops=500, faults=36),
    # By hand: about 10 minutes of load.
    "full": ChaosProfile(
        name="full",
        ops=20_000,
        faults=600,
        routers=6,
        workers=3,
        lanes=12,
        rate=40.0,
        tech_every=25,
        expiry_horizon_s=60.0,
        quiesce_timeout_s=240.0,
    ),
}
