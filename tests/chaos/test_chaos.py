"""The chaos run as a test: the short profile in CI, any profile by hand (docs/chaos.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.harness import run_chaos
from tests.chaos.plan import FaultKind, OpKind, build_plan
from tests.chaos.profiles import PROFILES, ChaosProfile

# A run artefact: build/ is git-ignored.
LAST_RUN = Path(__file__).resolve().parents[2] / "build" / "chaos" / "last-run.md"


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_chaos(chaos_profile: ChaosProfile, tmp_path: Path) -> None:
    report = await run_chaos(chaos_profile, tmp_path / "run")
    text = report.markdown()
    LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
    LAST_RUN.write_text(text)
    print(text)
    assert report.operations == chaos_profile.ops
    assert not report.divergences, f"{len(report.divergences)} divergence(s):\n{text}"


def test_plan_is_a_function_of_the_seed() -> None:
    profile = PROFILES["short"]
    assert build_plan(profile) == build_plan(profile)
    assert build_plan(profile).ops != build_plan(profile.with_overrides(seed=2)).ops


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_has_every_operation_and_fault(name: str) -> None:
    profile = PROFILES[name]
    plan = build_plan(profile)
    assert len(plan.ops) == profile.ops
    assert {str(kind) for kind in OpKind} <= set(plan.op_counts())
    assert {fault.kind for fault in plan.faults} == set(FaultKind)
    crashes = sum(op.crash for op in plan.ops)
    assert crashes == sum(fault.kind == FaultKind.API_CRASH for fault in plan.faults)
    assert profile.routers >= 5 and profile.workers >= 2
    if name == "full":
        assert profile.ops >= 20_000 and profile.faults >= 500
