"""The schema and the API agree: `schemathesis run /openapi.json --checks all` (issue 14).

The derandomized suite beside this file (test_fuzz.py) looks for 5xx answers and response
shapes only. This one runs schemathesis' own command line, with every check, against a real
`mikrosync serve` as an operator's tooling would: requests the schema forbids must be refused
(strict booleans and times, patterns), requests it allows must be accepted (every value rule
stated in the schema; what no schema can say answers 404 or 409, never 422), a method the path
does not have answers 405 with the path's whole `Allow` list, every answer matches its
documented schema. All phases run: examples, coverage, fuzzing, and stateful (a created
object is then read, changed and deleted through the links schemathesis infers).

Two fixed seeds, one per database backend (PostgreSQL seed 1, SQLite seed 2), so a failure
reproduces with `schemathesis run ... --seed N`. Examples per operation: 3 in the short
profile (`make test`: about 40 s a backend, every phase still runs; the coverage phase's
boundary cases do not depend on it), 40 in the full one (`make fuzz-full`, the issue's by-hand
run: several minutes a backend); `--fuzz-examples N` (or MIKROSYNC_FUZZ_EXAMPLES) overrides.
The repository's `schemathesis.toml` is the run's configuration: three operations
that wait on a router or M-Pesa may answer their documented 502/503, and the use-after-free
check is off (DELETE of a subscriber is a 202; the row stays until the router confirms).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mikrosync.settings import Settings
from tests.plugins.core import PASSWORD, TenantFactory
from tests.plugins.fuzz import fuzz_examples
from tests.plugins.web import ServerProcess

REPO = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEEDS = {"postgresql": 1, "sqlite": 2}
EXAMPLES = {"short": 3, "full": 40}


@pytest.mark.timeout(900)  # a few minutes on 2 shared cores
async def test_schemathesis_with_every_check_finds_nothing(
    serve: ServerProcess,
    factory: TenantFactory,
    settings: Settings,
    pytestconfig: pytest.Config,
    tmp_path: Path,
) -> None:
    owner = await factory.staff(await factory.tenant())
    async with httpx.AsyncClient(base_url=serve.url) as http:
        answer = await http.post(
            "/api/v1/auth/token", data={"username": owner.email, "password": PASSWORD}
        )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    seed = SEEDS["sqlite" if settings.database_url.startswith("sqlite") else "postgresql"]
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{serve.url}/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(seed),
        "--max-examples",
        str(fuzz_examples(pytestconfig, EXAMPLES)),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    # From the repository root, where schemathesis finds schemathesis.toml. Without coverage's
    # variables: the served app is measured in `serve`; tracing schemathesis itself (none of
    # our code) would only make it half again as slow.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    summary = run.stdout[-12000:]
    assert run.returncode == 0, f"seed {seed}:\n{summary}\n{run.stderr[-2000:]}"
    assert " passed" in summary, summary
