"""Every operation of /openapi.json, fuzzed by schemathesis as an owner and as a viewer:
no response of 500 or above, and every response matches the schema of its status code.

schemathesis's own pytest loader (`from_fixture`) does not run under pytest 9 (it sets
`Node._nodeid`, gone in pytest 9), so each operation is a plain parametrized test that draws
cases from schemathesis's strategies with Hypothesis (derandomized: the same cases every run):
positive cases with random ids, positive cases aimed at the tenant's own objects, and
negative cases (data the schema forbids).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from mikrosync.app import create_app
from mikrosync.settings import Settings
from tests.plugins.core import TEST_SECRET_KEY
from tests.plugins.fuzz import ROLES, FuzzSite, FuzzStats, fuzz_examples

# Per request: schemathesis's default (10 s) is hit by a slow answer on a machine shared by
# parallel test processes; what is tested is the answer, not its speed.
RESPONSE_TIMEOUT_S = 60

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Path parameters pointed at the tenant's own objects (the rest of the cases use random ids).
TARGETS = {"router_id": "router", "package_id": "package", "subscriber_id": "subscriber"}

# Not traced by coverage (tests/plugins/untraced.py): under the tracer Hypothesis and schemathesis
# take twice as long, and the other tests reach all but 5 of the lines of src these cases reach
# (README, "Tests").
pytestmark = pytest.mark.untraced


# Bugs this suite found whose fixes are not applied yet: number -> (what, signature). The
# signature gets the operation's label and either the response or the exception the app raised,
# and says whether the case hit that bug; such cases are counted apart instead of failing the
# run. Add an entry together with the bug's xfail(strict=True) test in test_regressions.py, and
# delete both when the fix lands. Empty: bugs 1-5 of docs/chaos.md are fixed.
Signature = Callable[[str, Any, Exception | None], bool]
OPEN_BUGS: dict[int, tuple[str, Signature]] = {}


def known_bug(label: str, response: Any = None, exc: Exception | None = None) -> int | None:
    """The number of the open bug this case hit, if any."""
    for number, (_, hit) in OPEN_BUGS.items():
        if hit(label, response, exc):
            return number
    return None


@cache
def operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from an app that is never started."""
    scratch = Path("/tmp/mikrosync-fuzz-collect")
    app = create_app(
        Settings(
            data_dir=scratch,
            database_url=f"sqlite+aiosqlite:///{scratch / 'never-opened.db'}",
            secret_key=TEST_SECRET_KEY,
            redis_url="redis://127.0.0.1:1/0",
        )
    )
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [(method.upper(), path) for path, methods in paths.items() for method in methods]


def _targets(operation: Any, site: FuzzSite) -> dict[str, Any]:
    names = {parameter.name for parameter in operation.path_parameters}
    return {name: site.ids[TARGETS[name]][0] for name in names if name in TARGETS}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path"), operations(), ids=[f"{m} {p}" for m, p in operations()]
)
def test_operation(
    method: str,
    path: str,
    role: str,
    fuzz_schema: Any,
    fuzz_site: FuzzSite,
    fuzz_stats: FuzzStats,
    pytestconfig: pytest.Config,
) -> None:
    operation = fuzz_schema[path][method]
    headers = fuzz_site.callers[role].headers
    examples = fuzz_examples(pytestconfig)
    strategies = [(operation.as_strategy(GenerationMode.POSITIVE), True)]
    aimed = _targets(operation, fuzz_site)
    if aimed:
        aimed_cases = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=aimed)
        strategies.append((aimed_cases, True))
    strategies.append((operation.as_strategy(GenerationMode.NEGATIVE), False))

    for strategy, positive in strategies:

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case[Any]) -> None:
            try:
                response = case.call(headers=headers, timeout=RESPONSE_TIMEOUT_S)
            except Exception as exc:  # the app raised: a 500 behind a real server
                fuzz_stats.crashed(role, case)
                bug = known_bug(operation.label, exc=exc)
                if bug is None:
                    raise
                fuzz_stats.known[bug] += 1
                return
            documented = str(response.status_code) in operation.definition.raw.get("responses", {})
            fuzz_stats.record(role, case, response.status_code, documented)
            bug = known_bug(operation.label, response)
            if bug is not None:
                fuzz_stats.known[bug] += 1
                return
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Nothing in this operation can be made invalid (no parameters, no body).
            if positive:
                raise
