"""API fuzzing with schemathesis: the in-process app, a fresh tenant with a router, packages
and subscribers to aim at, and tokens of its owner and of a viewer (see docs/chaos.md).

Size: `--fuzz-profile full` (or `MIKROSYNC_FUZZ_PROFILE=full`) for the by-hand run; the
short profile runs in CI. `--fuzz-examples N` overrides the examples per operation.

The app is built for the fuzzer alone: schemathesis calls it on an event loop of its own (one
shared thread), so its database engine and Redis client must never be used from the test
session's loop. Everything the fuzzer needs is therefore set up through the app itself, except
the tenant's first users, which the test session creates with its own Runtime.

The fuzzer's app, tenant and schema are module-scoped (one module uses them): so its cases run
as one xdist group per backend (tests/plugins/tiers.py), and two test processes build them, not
every one (an app and its schema cost about 1.5 CPU-seconds).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi

from mikrosync.app import create_app
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role
from tests.plugins.core import PASSWORD

# Examples per operation and role in the fuzzing phase (schemathesis's examples and coverage
# phases add their own deterministic cases on top).
PROFILES = {"short": 3, "full": 20}
ROLES = ("owner", "viewer")
# Errors every operation may answer (authentication, role, tenancy, state); others are shown.
USUAL_ERRORS = frozenset({401, 403, 404, 409, 422})
API = "/api/v1"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fuzz", "API fuzzing (tests/fuzz, docs/chaos.md)")
    group.addoption("--fuzz-profile", choices=sorted(PROFILES), help="short (default) or full")
    group.addoption("--fuzz-examples", type=int, help="fuzzing examples per operation and role")


def fuzz_examples(config: pytest.Config, per_profile: dict[str, int] = PROFILES) -> int:
    """Examples per operation: `--fuzz-examples`, else the profile's number in `per_profile`."""
    explicit = config.getoption("fuzz_examples", default=None) or os.environ.get(
        "MIKROSYNC_FUZZ_EXAMPLES"
    )
    if explicit:
        return int(explicit)
    profile = config.getoption("fuzz_profile", default=None)
    return per_profile[profile or os.environ.get("MIKROSYNC_FUZZ_PROFILE", "short")]


@dataclass
class FuzzStats:
    """What the fuzzer sent and got, for the summary and the case counts."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    undocumented: dict[str, set[int]] = field(default_factory=dict)
    known: Counter[int] = field(default_factory=Counter)
    """Cases that hit a known bug (test_fuzz.OPEN_BUGS), by bug number."""
    samples: dict[tuple[str, int], str] = field(default_factory=dict)
    """One request (as curl) per operation and undocumented status, to look at."""
    crashes: Counter[str] = field(default_factory=Counter)
    """Cases where the app raised (a 500 behind a real server), by operation."""

    def crashed(self, role: str, case: Any) -> None:
        self.cases[role] += 1
        self.crashes[case.operation.label] += 1

    def record(self, role: str, case: Any, status: int, documented: bool) -> None:
        operation = case.operation.label
        self.cases[role] += 1
        self.statuses[(operation, status)] += 1
        if not documented:
            self.undocumented.setdefault(operation, set()).add(status)
            self.samples.setdefault((operation, status), case.as_curl_command())

    def summary(self) -> str:
        lines = [f"fuzz cases: {sum(self.cases.values())} ({dict(self.cases)})"]
        errors = {k: n for k, n in self.statuses.items() if k[1] >= 500}
        lines.append(f"responses >= 500: {sum(errors.values())} {errors or ''}")
        crashes = dict(self.crashes)
        lines.append(f"exceptions out of the app (500s): {sum(crashes.values())} {crashes or ''}")
        if self.known:
            lines.append(f"cases that hit a known bug (not failed): {dict(self.known)}")
        if self.undocumented:
            lines.append("status codes answered but not documented in the OpenAPI:")
            for operation in sorted(self.undocumented):
                codes = ", ".join(str(c) for c in sorted(self.undocumented[operation]))
                lines.append(f"  {operation}: {codes}")
            unusual = {k: v for k, v in self.samples.items() if k[1] not in USUAL_ERRORS}
            if unusual:
                lines.append("for instance:")
                lines += [f"  {code}: {curl[:300]}" for (_, code), curl in sorted(unusual.items())]
        return "\n".join(lines)

    def dump(self) -> str:
        return json.dumps(
            {
                "cases": self.cases,
                "statuses": [[*key, n] for key, n in self.statuses.items()],
                "undocumented": {op: sorted(codes) for op, codes in self.undocumented.items()},
                "known": list(self.known.items()),
                "samples": [[*key, curl] for key, curl in self.samples.items()],
                "crashes": self.crashes,
            }
        )

    def merge(self, dumped: str) -> None:
        """Add another process's stats (an xdist worker's) to these."""
        other = json.loads(dumped)
        self.cases.update(other["cases"])
        self.statuses.update({(op, code): n for op, code, n in other["statuses"]})
        for operation, codes in other["undocumented"].items():
            self.undocumented.setdefault(operation, set()).update(codes)
        self.known.update({int(bug): n for bug, n in other["known"]})
        for operation, code, curl in other["samples"]:
            self.samples.setdefault((operation, code), curl)
        self.crashes.update(other["crashes"])


STATS = FuzzStats()
WORKER_OUTPUT_KEY = "mikrosync_fuzz_stats"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's stats to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_OUTPUT_KEY] = STATS.dump()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    dumped = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if dumped:
        STATS.merge(dumped)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if sum(STATS.cases.values()):
        terminalreporter.write_sep("-", "schemathesis")
        terminalreporter.write_line(STATS.summary())


@dataclass
class Caller:
    role: str
    headers: dict[str, str]


@dataclass
class FuzzSite:
    app: FastAPI
    callers: dict[str, Caller]
    ids: dict[str, list[int]]


@pytest.fixture(scope="module")
async def fuzz_users(runtime: Runtime) -> dict[str, str]:
    """A fresh tenant's owner and viewer, and a platform admin: their emails."""
    tag = uuid.uuid4().hex[:10]
    emails = {role: f"fuzz-{role}-{tag}@isp.test" for role in (*ROLES, "platform")}
    async with runtime.sessionmaker() as session:
        tenant = await tenants.create_tenant(session, slug=f"fuzz-{tag}", name="Fuzz ISP")
        for role in ROLES:
            await tenants.create_staff_user(
                session, tenant_id=tenant.id, email=emails[role], password=PASSWORD, role=Role(role)
            )
        await tenants.create_staff_user(
            session, tenant_id=None, email=emails["platform"], password=PASSWORD, role=Role.OWNER
        )
    return emails


@pytest.fixture(scope="module")
def fuzz_site(settings: Settings, fuzz_users: dict[str, str]) -> Iterator[FuzzSite]:
    """The app under fuzz, with things to aim at: a router, a package per service and a few
    subscribers (their ids are mixed into the generated path parameters)."""
    app = create_app(settings)
    with asgi.get_client(app) as client:  # type: ignore[arg-type]  # FastAPI is an ASGI app
        callers = {role: Caller(role, _login(client, email)) for role, email in fuzz_users.items()}
        owner = callers["owner"].headers
        ids: dict[str, list[int]] = {"router": [], "package": [], "subscriber": []}
        router = _post(
            client,
            owner,
            "/routers",
            {"name": "fuzz-r1", "host": "192.0.2.1", "username": "api", "password": "pw"},
        )
        ids["router"].append(router)
        for service in ("pppoe", "hotspot", "static"):
            body = {"name": f"fuzz-{service}", "service": service, "rate_limit": "10M/5M"}
            package = _post(client, owner, "/packages", body)
            ids["package"].append(package)
            for n in range(2):
                subscriber: dict[str, Any] = {
                    "router_id": router,
                    "package_id": package,
                    "service": service,
                    "username": f"fuzz-{service}-{n}",
                }
                if service == "static":
                    subscriber["static_ip"] = f"10.250.0.{len(ids['subscriber']) + 1}"
                else:
                    subscriber["password"] = "fuzz-pw"
                ids["subscriber"].append(_post(client, owner, "/subscribers", subscriber))
    yield FuzzSite(app, callers, ids)


def _login(client: Any, email: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _post(client: Any, headers: dict[str, str], path: str, body: dict[str, Any]) -> int:
    response = client.post(f"{API}{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_site: FuzzSite) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_site.app)


@pytest.fixture(scope="session")
def fuzz_stats() -> FuzzStats:
    return STATS
