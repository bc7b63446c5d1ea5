"""Options of the chaos test: `pytest tests/chaos --chaos-profile full --chaos-seed 7 ...`.

Each option can also come from the environment (`MIKROSYNC_CHAOS_SEED=7 pytest`), which
works whatever paths pytest is given. The options are registered only when pytest is started
on `tests/chaos` (pytest reads options from the conftest files of the paths it is given).
"""

from __future__ import annotations

import os

import pytest

from tests.chaos.profiles import PROFILES, ChaosProfile

OPTIONS: dict[str, type] = {
    "seed": int,
    "ops": int,
    "faults": int,
    "routers": int,
    "workers": int,
    "lanes": int,
    "rate": float,
    "backend": str,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos test (tests/chaos, docs/chaos.md)")
    group.addoption("--chaos-profile", choices=sorted(PROFILES), help="short (default) or full")
    for name, kind in OPTIONS.items():
        group.addoption(f"--chaos-{name}", type=kind, help=f"override the profile's {name}")


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"chaos_{name}", default=None)
    if value is None:
        value = os.environ.get(f"MIKROSYNC_CHAOS_{name.upper()}")
    return None if value is None else str(value)


@pytest.fixture(scope="session")
def chaos_profile(pytestconfig: pytest.Config) -> ChaosProfile:
    profile = PROFILES[_option(pytestconfig, "profile") or "short"]
    overrides = {
        name: kind(value)
        for name, kind in OPTIONS.items()
        if (value := _option(pytestconfig, name)) is not None
    }
    return profile.with_overrides(**overrides)
