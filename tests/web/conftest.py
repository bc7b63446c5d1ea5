"""The browser tests' processes and `site` (the shared web fixtures are in tests/plugins/web.py).

Every browser module of a test process shares one database, one `mikrosync worker` and one
`mikrosync serve` per backend: starting them costs ~10 CPU-seconds under coverage, once per
module before. Each module still gets its own tenant (`browser_owner`, retired at the end of
the module so the worker stops checking its routers) and each test its own router, so no test
sees another's rows; tests/plugins/tiers.py puts these modules in one xdist group per
backend, so the processes start on one test process only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest

from mikrosync.settings import Settings
from mikrosync.simulator.testing import running_router
from tests.helpers import RouterSite
from tests.plugins.core import Staff
from tests.plugins.e2e import Site, WorkerProcess, e2e_database
from tests.plugins.web import ServerProcess


@dataclass
class BrowserStack:
    settings: Settings
    worker: WorkerProcess
    server: ServerProcess


class BrowserStacks:
    """The stack of each backend, started on first use, stopped when the tests/web package ends."""

    def __init__(self, exits: AsyncExitStack, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._exits = exits
        self._tmp = tmp_path_factory
        self._stacks: dict[str, BrowserStack] = {}

    async def of(self, backend: str) -> BrowserStack:
        if backend not in self._stacks:
            data_dir = self._tmp.mktemp(f"browser-{backend}")
            settings = await self._exits.enter_async_context(e2e_database(backend, data_dir))
            worker = WorkerProcess(settings, data_dir / "worker.log")
            self._exits.callback(worker.stop)
            server = ServerProcess(settings, data_dir / "serve.log")  # boots beside the worker
            self._exits.callback(server.stop)
            await asyncio.to_thread(server.wait_ready)
            self._stacks[backend] = BrowserStack(settings, worker, server)
        return self._stacks[backend]

    def serving(self, settings: Settings) -> BrowserStack:
        return next(stack for stack in self._stacks.values() if stack.settings is settings)


# Package scope: stopped once this process has run the browser modules (one xdist group), not
# left checking routers for the rest of the session.
@pytest.fixture(scope="package")
async def browser_stacks(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[BrowserStacks]:
    async with AsyncExitStack() as exits:
        yield BrowserStacks(exits, tmp_path_factory)


# These override tests/plugins/e2e.py's and web.py's fixtures of the same names for tests/web.
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def e2e_settings(request: pytest.FixtureRequest, browser_stacks: BrowserStacks) -> Settings:
    return (await browser_stacks.of(request.param)).settings


@pytest.fixture(scope="module")
def worker(e2e_settings: Settings, browser_stacks: BrowserStacks) -> WorkerProcess:
    return browser_stacks.serving(e2e_settings).worker


@pytest.fixture(scope="module")
def server(e2e_settings: Settings, browser_stacks: BrowserStacks) -> ServerProcess:
    return browser_stacks.serving(e2e_settings).server


@pytest.fixture
async def site(server: ServerProcess, browser_owner: Staff) -> AsyncIterator[Site]:
    """A simulated router of this test alone, registered with the real server, and one
    package per service, in the browser tests' tenant."""
    async with (
        httpx.AsyncClient(base_url=server.url) as http,
        running_router(username="admin", password="router-pw") as sim,
    ):
        yield Site(**await RouterSite.create(http, browser_owner, sim, "router-pw"))
