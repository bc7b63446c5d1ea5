"""Fixtures for vouchers: a tenant with a simulated router over TCP (registered through the API)
and the worker's dependencies, and helpers that create batches through the service."""

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
from mikrosync.sync.context import SyncContext
from mikrosync.vouchers import service
from mikrosync.vouchers.carry import carry_batch
from mikrosync.vouchers.models import Voucher, VoucherBatch
from mikrosync.vouchers.schemas import VoucherBatchCreate
from tests.conftest import Staff
from tests.helpers import RouterSite, sync_deps

ROUTER_PASSWORD = "router-pw"
USERS = "/ip/hotspot/user"


@pytest.fixture
async def sim() -> AsyncIterator[SimRouter]:
    async with running_router(username="admin", password=ROUTER_PASSWORD) as router:
        yield router


@pytest.fixture
async def deps(runtime: Runtime, settings: Settings) -> AsyncIterator[SyncContext]:
    async with sync_deps(runtime, settings, timeout_s=1.0) as built:
        yield built


@dataclass
class VoucherSite(RouterSite):
    runtime: Runtime | None = None
    deps: SyncContext | None = None

    async def batch(self, **overrides: Any) -> VoucherBatch:
        assert self.runtime is not None
        body: dict[str, Any] = {
            "router_id": self.router["id"],
            "package_id": self.packages["hotspot"]["id"],
            "count": 20,
            "validity": "1d",
        } | overrides
        async with self.runtime.sessionmaker() as session:
            return await service.create_batch(
                session,
                self.runtime.vault,
                tenant_id=self.router_tenant,
                data=VoucherBatchCreate(**body),
                actor="test",
            )

    @property
    def router_tenant(self) -> int:
        assert self.owner.tenant_id is not None
        return self.owner.tenant_id

    async def carry(self, batch_id: int) -> Any:
        assert self.deps is not None
        return await carry_batch(self.deps, batch_id)

    async def load(self, batch_id: int) -> tuple[VoucherBatch, list[Voucher]]:
        assert self.runtime is not None
        async with self.runtime.sessionmaker() as session:
            batch = await session.get(VoucherBatch, batch_id)
            assert batch is not None
            vouchers = await service.list_vouchers(
                session, tenant_id=batch.tenant_id, batch_id=batch_id
            )
            return batch, list(vouchers)

    async def on_router(self, batch_id: int) -> int:
        """The batch's "N on the router" counter (one cheap query)."""
        assert self.runtime is not None
        async with self.runtime.sessionmaker() as session:
            batch = await session.get(VoucherBatch, batch_id)
            assert batch is not None
            return batch.on_router

    def users_of(self, batch_id: int) -> list[dict[str, str]]:
        """The router's hotspot users tagged for this batch."""
        marker = f":v={batch_id}-"
        return [row for row in self.sim.rows(USERS) if marker in row.get("comment", "")]


@pytest.fixture
async def site(
    client: httpx.AsyncClient, owner: Staff, deps: SyncContext, sim: SimRouter, runtime: Runtime
) -> VoucherSite:
    return VoucherSite(
        **await RouterSite.create(client, owner, sim, ROUTER_PASSWORD), runtime=runtime, deps=deps
    )
