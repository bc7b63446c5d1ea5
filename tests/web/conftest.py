"""The browser tests' `site` (the shared web fixtures are in tests/plugins/web.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mikrosync.simulator.testing import running_router
from tests.helpers import RouterSite
from tests.plugins.core import Staff
from tests.plugins.e2e import Site
from tests.plugins.web import ServerProcess


@pytest.fixture
async def site(server: ServerProcess, browser_owner: Staff) -> AsyncIterator[Site]:
    """A simulated router of this test alone, registered with the real server, and one
    package per service, in the browser tests' tenant."""
    async with (
        httpx.AsyncClient(base_url=server.url) as http,
        running_router(username="admin", password="router-pw") as sim,
    ):
        yield Site(**await RouterSite.create(http, browser_owner, sim, "router-pw"))
