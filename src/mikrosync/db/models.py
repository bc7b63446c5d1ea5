"""Imports every model so `Base.metadata` is complete (Alembic autogenerate, create_all)."""

from mikrosync.db.base import Base
from mikrosync.packages.models import Package
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber, SyncEvent
from mikrosync.sync.reconcile_runs.models import ReconcileRun
from mikrosync.tenants.models import StaffUser, Tenant
from mikrosync.vouchers.models import Voucher, VoucherBatch, VoucherEvent

__all__ = [
    "Base",
    "Package",
    "ReconcileRun",
    "Router",
    "StaffUser",
    "Subscriber",
    "SyncEvent",
    "Tenant",
    "Voucher",
    "VoucherBatch",
    "VoucherEvent",
]
