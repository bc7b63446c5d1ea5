"""The load run starts its processes as the deployment files do."""

from __future__ import annotations

from pathlib import Path

from tests.load.run import worker_nice

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_runs_below_the_api_in_both_deployments_and_under_load() -> None:
    assert worker_nice() == 10
    compose = (ROOT / "compose.yml").read_text()
    assert f'command: ["nice", "-n", "{worker_nice()}", "mikrosync", "worker"]' in compose
