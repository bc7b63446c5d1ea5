"""Fixtures for the sync engine: a simulated router registered through the API, and the
SyncDeps a worker would build."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mikrosync.routeros import PoolRegistry
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.simulator import SimRouter
from mikrosync.simulator.testing import running_router
from mikrosync.sync.converge import Attempt, Outcome, converge_subscriber
from mikrosync.sync.deps import SyncDeps
from tests.conftest import Staff
from tests.helpers import make_package, make_router, make_subscriber

ROUTER_PASSWORD = "router-pw"


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    async with running_router(username="admin", password=ROUTER_PASSWORD) as router:
        yield router


@pytest.fixture
async def deps(runtime: Runtime, settings: Settings) -> AsyncIterator[SyncDeps]:
    fast = settings.model_copy(
        update={"router_connect_timeout_s": 1.0, "router_command_timeout_s": 1.0}
    )
    registry = PoolRegistry()
    yield SyncDeps(
        sessionmaker=runtime.sessionmaker, vault=runtime.vault, registry=registry, settings=fast
    )
    await registry.close()


@dataclass
class World:
    """A tenant with one simulated router and a package per service."""

    client: httpx.AsyncClient
    owner: Staff
    deps: SyncDeps
    sim: SimRouter
    router: dict[str, Any]
    packages: dict[str, dict[str, Any]]

    async def subscriber(self, service: str = "pppoe", **overrides: Any) -> dict[str, Any]:
        extra: dict[str, Any] = {"password": None} if service == "static" else {}
        return await make_subscriber(
            self.client,
            self.owner,
            router_id=self.router["id"],
            package_id=self.packages[service]["id"],
            service=service,
            **(extra | overrides),
        )

    async def converge(self, subscriber_id: int, job: str = "addUser", **attempt: Any) -> Outcome:
        return await converge_subscriber(self.deps, subscriber_id, Attempt(job, **attempt))

    async def get(self, subscriber_id: int) -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/subscribers/{subscriber_id}", headers=self.owner.headers
        )
        result: dict[str, Any] = response.json()
        return result

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.client.request(
            method, f"/api/v1{path}", headers=self.owner.headers, **kwargs
        )
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    def rows(self, path: str, **match: str) -> list[dict[str, str]]:
        return [
            row
            for row in self.sim.rows(path)
            if all(row.get(key) == value for key, value in match.items())
        ]


@pytest.fixture
async def world(client: httpx.AsyncClient, owner: Staff, deps: SyncDeps, sim: SimRouter) -> World:
    router = await make_router(
        client, owner, host=sim.host, port=sim.port, username="admin", password=ROUTER_PASSWORD
    )
    packages = {
        "pppoe": await make_package(client, owner, service="pppoe", rate_limit="10M/5M"),
        "hotspot": await make_package(client, owner, service="hotspot", rate_limit="2M/1M"),
        "static": await make_package(client, owner, service="static", rate_limit="20M/20M"),
    }
    return World(client, owner, deps, sim, router, packages)
