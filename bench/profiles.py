"""Workload sizes: `full` is the issue's; `quick` is tiny but runs every code path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    # 1. bulk provisioning
    bulk_subscribers: int
    bulk_routers: int
    rest_creations: int
    rest_clients: int
    # 2. one change at a time
    changes: int
    # 3. API isolation: write requests per RTT setting, and how many clients send them
    api_writes: int
    api_clients: int
    # 4. reconciliation
    reconcile_secrets: int
    # 5. expiry
    expiry_spread: int
    expiry_spread_s: float
    expiry_instant: int
    # 6. growth factor applied to item 1
    growth: int
    # 7. scale-out
    scale_routers: int
    scale_subscribers: int
    # 8. router recovery: changes piled up while one router is offline
    recovery_changes: int
    # 9. month end: online subscribers over routers expiring at one instant
    month_end_subscribers: int
    month_end_routers: int
    month_end_setup_s: float
    """Set-up time allowed per subscriber before the instant (import, sync, dial-in); raise it
    with `--set` on a loaded machine (the run says by how much the set-up overran)."""
    # how long to wait for a sync before giving up
    timeout_s: float


QUICK = Profile(
    name="quick",
    bulk_subscribers=60,
    bulk_routers=10,
    rest_creations=100,
    rest_clients=50,
    changes=30,
    api_writes=80,
    api_clients=5,
    reconcile_secrets=1_000,
    expiry_spread=30,
    expiry_spread_s=5.0,
    expiry_instant=50,
    growth=10,
    scale_routers=50,
    scale_subscribers=200,
    recovery_changes=100,
    month_end_subscribers=200,
    month_end_routers=10,
    month_end_setup_s=0.25,
    timeout_s=240.0,
)

FULL = Profile(
    name="full",
    bulk_subscribers=10_000,
    bulk_routers=10,
    rest_creations=10_000,
    rest_clients=50,
    changes=500,
    api_writes=1_000,
    api_clients=10,
    reconcile_secrets=50_000,
    expiry_spread=1_000,
    expiry_spread_s=60.0,
    expiry_instant=5_000,
    growth=10,
    scale_routers=50,
    scale_subscribers=10_000,
    recovery_changes=5_000,
    month_end_subscribers=20_000,
    month_end_routers=10,
    month_end_setup_s=0.03,
    timeout_s=7_200.0,
)

PROFILES = {p.name: p for p in (QUICK, FULL)}
