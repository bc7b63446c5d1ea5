"""Test tiers and xdist groups, given to every test at collection (README, "Tests").

Each test gets exactly one tier marker, chosen in this order:

- `chaos`: under tests/chaos (the fault-injection run and its checks);
- `browser`: drives real Chromium (the `browser` fixture or one built on it);
- `e2e`: runs mikrosync processes: worker or server subprocesses (the e2e fixtures), the
  probe workers of tests/jobs, the CLI as a subprocess; a module that starts processes without
  those fixtures says so itself with `pytestmark = pytest.mark.e2e`;
- `db`: needs the database or Redis fixtures (SQLite and PostgreSQL, the machine's Redis);
- `unit`: everything else (pure code, the simulator in-process).

A test may carry a tier marker of its own (the module's `pytestmark`); the hook then keeps it
and adds none. More than one tier on a test is an error.

With `pytest -n N --dist loadgroup` (what `make test` runs), the tests that share a module's
expensive fixtures (worker and server subprocesses, a database of their own) are put in one
xdist group per module and backend, so those processes start on one worker, not on every one;
the modules that share a package's processes (SHARED_BY_MODULES) form one group per backend.
The modules that run them on PostgreSQL share POSTGRES_LANES groups (modules in turn, in
collection order): each such module holds a few dozen connections (worker and server
processes, their pools), and more of them at once than that exhausts a stock server's
`max_connections` (100) on a machine where other runs use it too.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

# Registered (with what each means) in pyproject.toml, [tool.pytest.ini_options] markers.
TIERS = ("unit", "db", "e2e", "browser", "chaos")
PROCESS_TIERS = frozenset({"e2e", "browser", "chaos"})
BROWSER_FIXTURES = frozenset({"browser", "playwright"})
E2E_FIXTURES = frozenset(
    {
        "e2e_settings",
        "e2e_client",
        "worker",
        "workers",
        "server",
        "serve",
        "serve_default",  # tests/security/test_transport.py: `mikrosync serve`, no trusted proxy
        "spawn_probe",
        "cli",
    }
)
DB_FIXTURES = frozenset({"database_url", "fresh_url", "redis_url"})
# The session fixture parametrized by backend (tests/plugins/core.py).
BACKEND_FIXTURE = "database_url"
POSTGRES_LANES = 2
# (module, backend): one xdist group.
Group = tuple[str, str]
# Fixtures whose processes serve many modules: their modules form one group per backend
# (tests/web/conftest.py: one server and worker for every browser module).
SHARED_BY_MODULES = {"browser_stacks": "tests/web (browser stacks)"}


def _tier(item: pytest.Item) -> str:
    fixtures = set(getattr(item, "fixturenames", ()))
    parts = item.path.relative_to(item.config.rootpath).parts
    if parts[:2] == ("tests", "chaos"):
        return "chaos"
    if fixtures & BROWSER_FIXTURES:
        return "browser"
    if fixtures & E2E_FIXTURES or parts[:2] == ("tests", "e2e"):
        return "e2e"
    if fixtures & DB_FIXTURES:
        return "db"
    return "unit"


def _module_scoped(item: pytest.Item) -> Iterable[str]:
    """The module-scoped fixtures this test uses (built once per module and parameter)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return ()
    return [
        name
        for name, definitions in info.name2fixturedefs.items()
        if definitions and definitions[-1].scope == "module"
    ]


def _group(item: pytest.Item) -> Group | None:
    """(module, backend) of a test that uses module-scoped fixtures, None for the others."""
    scoped = sorted(_module_scoped(item))
    if not scoped:
        return None
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    # A module-scoped fixture's own backend parameter, else the session's database: pytest
    # builds the module's fixtures again for each backend, so each backend is a group of its own.
    backend = "-".join(str(params[name]) for name in scoped if name in params) or str(
        params.get(BACKEND_FIXTURE, "")
    )
    shared = [SHARED_BY_MODULES[name] for name in item.fixturenames if name in SHARED_BY_MODULES]
    if shared:
        return shared[0], backend
    return item.path.relative_to(item.config.rootpath).as_posix(), backend


def _group_names(grouped: list[tuple[str, Group]]) -> dict[Group, str]:
    """Group names, from each grouped test's (tier, group)."""
    groups = dict.fromkeys(group for _, group in grouped)
    # Only modules that start processes hold enough connections to need a lane.
    with_processes = {group for tier, group in grouped if tier in PROCESS_TIERS}
    postgres = [
        module
        for module, backend in groups
        if backend == "postgresql" and (module, backend) in with_processes
    ]
    # Not "module[backend]": xdist's loadgroup takes a node id that ends in "]" after its "@"
    # for a parametrized test without a group, and ran each such test as its own unit, on any
    # process, each process starting the module's worker and server for it.
    names = {(module, backend): f"{module} on {backend}" for module, backend in groups}
    for number, module in enumerate(postgres):
        names[(module, "postgresql")] = f"postgresql-lane-{number % POSTGRES_LANES}"
    return names


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    grouped: list[tuple[pytest.Item, str, Group]] = []
    for item in items:
        own = [mark.name for mark in item.iter_markers() if mark.name in TIERS]
        if len(set(own)) > 1:
            raise pytest.UsageError(f"{item.nodeid}: more than one tier marker: {sorted(own)}")
        tier = own[0] if own else _tier(item)
        if not own:
            item.add_marker(getattr(pytest.mark, tier))
        if (group := _group(item)) is not None:
            grouped.append((item, tier, group))
    names = _group_names([(tier, group) for _, tier, group in grouped])
    for item, _, group in grouped:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(names[group]))
