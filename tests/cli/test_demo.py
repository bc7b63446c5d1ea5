"""`mikrosync demo` on the embedded default: reaches all-synced, stops cleanly, reuses data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.core import environ_without_settings, free_port

# Tier (tests/plugins/tiers.py): runs `mikrosync demo` as a subprocess.
pytestmark = pytest.mark.e2e
UNTIL_SYNCED = ("--exit-when-synced", "--exit-after", "60")


def _demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = environ_without_settings()
    return subprocess.run(
        [sys.executable, "-m", "mikrosync", "demo", "--port", str(free_port()), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_reaches_all_synced_and_exits_0(tmp_path: Path) -> None:
    # --exit-after alone runs that long; with --exit-when-synced it is the time limit.
    first = _demo(tmp_path, "--routers", "2", "--subscribers", "40", *UNTIL_SYNCED)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "log in as demo@mikrosync.demo" in first.stdout
    assert "all 40 subscribers synced" in first.stdout
    assert "Traceback" not in first.stderr
    again = _demo(tmp_path, "--routers", "2", "--exit-after", "5")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Reusing the demo data" in again.stdout
    assert "all 40 subscribers synced" in again.stdout
    fresh = _demo(tmp_path, "--routers", "2", "--subscribers", "10", "--reset", *UNTIL_SYNCED)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "all 10 subscribers synced" in fresh.stdout
