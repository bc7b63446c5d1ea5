"""Fixtures for the sync engine (tests/sync, tests/onboarding): a simulated router registered
through the API, and the Runtime (with router pools of its own) a worker would run with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.sync.desired import DesiredSubscriber
from tests.helpers import RouterSite, sync_deps
from tests.plugins.core import Staff

ROUTER_PASSWORD = "router-pw"

# A desired subscriber that the pure plan and drift tests vary with `dataclasses.replace`.
BASE = DesiredSubscriber(
    subscriber_id=5,
    tenant_id=2,
    router_id=1,
    version=3,
    service="pppoe",
    username="alice",
    password="pw",
    remote_address=None,
    static_ip=None,
    is_suspended=False,
    remove=False,
    package_id=9,
    profile_name="home-10m",
    rate_limit="10M/5M 20M/10M",
    package_change=False,
    suspension_profile=None,
)


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    async with running_router(username="admin", password=ROUTER_PASSWORD) as router:
        yield router


@pytest.fixture
async def deps(runtime: Runtime, settings: Settings) -> AsyncIterator[Runtime]:
    async with sync_deps(runtime, settings, timeout_s=1.0) as built:
        yield built


@dataclass
class World(RouterSite):
    """A RouterSite whose converges the test runs itself, with a Runtime as the worker has."""

    deps: Runtime | None = None

    async def converge(self, subscriber_id: int, job: str = "addUser", **attempt: Any) -> Outcome:
        assert self.deps is not None
        return await converge_subscriber(self.deps, subscriber_id, Attempt(job, **attempt))

    async def get(self, subscriber_id: int) -> dict[str, Any]:
        return await self.status(subscriber_id)


@pytest.fixture
async def world(client: httpx.AsyncClient, owner: Staff, deps: Runtime, sim: SimRouter) -> World:
    return World(**await RouterSite.create(client, owner, sim, ROUTER_PASSWORD), deps=deps)
