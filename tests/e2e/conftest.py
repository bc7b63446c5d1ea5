"""The end-to-end tests' `site`: a tenant with a simulated router of the test's own, served by
the module's worker processes (the shared fixtures are in tests/plugins/e2e.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator.testing import running_router
from tests.helpers import RouterSite
from tests.plugins.core import TenantFactory
from tests.plugins.e2e import Site


@pytest.fixture
async def site(e2e_client: httpx.AsyncClient, e2e_settings: Settings) -> AsyncIterator[Site]:
    runtime = Runtime.build(e2e_settings)
    factory = TenantFactory(runtime=runtime, client=e2e_client)
    owner = await factory.staff(await factory.tenant())
    async with running_router(username="admin", password="router-pw") as sim:
        yield Site(**await RouterSite.create(e2e_client, owner, sim, "router-pw"))
    await runtime.close()
