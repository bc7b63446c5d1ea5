"""Imports every model so `Base.metadata` is complete (Alembic autogenerate, create_all)."""

from mikrosync.audit.models import AuditEntry
from mikrosync.db.base import Base
from mikrosync.packages.models import Package
from mikrosync.routers.models import Router, RouterOutage
from mikrosync.subscribers.models import Subscriber, SyncEvent
from mikrosync.sync.reconcile_runs.models import ReconcileRun
from mikrosync.tenants.models import StaffUser, Tenant

__all__ = [
    "AuditEntry",
    "Base",
    "Package",
    "ReconcileRun",
    "Router",
    "RouterOutage",
    "StaffUser",
    "Subscriber",
    "SyncEvent",
    "Tenant",
]
