"""Fixtures for vouchers: a tenant with a simulated router over TCP (registered through the API)
and the worker's dependencies, and helpers that create batches through the service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from mikrosync.sync.context import SyncContext
from tests.helpers import RouterSite, sync_deps
from tests.plugins.core import Staff
from tests.plugins.vouchers import ROUTER_PASSWORD, VoucherSite


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    async with running_router(username="admin", password=ROUTER_PASSWORD) as router:
        yield router


@pytest.fixture
async def deps(runtime: Runtime, settings: Settings) -> AsyncIterator[SyncContext]:
    async with sync_deps(runtime, settings, timeout_s=1.0) as built:
        yield built


@pytest.fixture
async def site(
    client: httpx.AsyncClient, owner: Staff, deps: SyncContext, sim: SimRouter, runtime: Runtime
) -> VoucherSite:
    return VoucherSite(
        **await RouterSite.create(client, owner, sim, ROUTER_PASSWORD), runtime=runtime, deps=deps
    )
