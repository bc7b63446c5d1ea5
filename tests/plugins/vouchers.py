"""Helpers of the voucher tests (tests/vouchers): a RouterSite that creates batches through the
service and carries them the way the worker does. The fixtures (`sim`, `deps`, `site`) stay in
tests/vouchers/conftest.py: other directories have fixtures of those names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mikrosync.runtime import Runtime
from mikrosync.sync.context import SyncContext
from mikrosync.vouchers import service
from mikrosync.vouchers.carry import carry_batch
from mikrosync.vouchers.models import Voucher, VoucherBatch
from mikrosync.vouchers.schemas import VoucherBatchCreate
from tests.helpers import RouterSite

ROUTER_PASSWORD = "router-pw"
USERS = "/ip/hotspot/user"


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
