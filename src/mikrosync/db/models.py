"""Imports every model so `Base.metadata` is complete (Alembic autogenerate, create_all)."""

from mikrosync.audit.models import AuditEntry
from mikrosync.db.base import Base
from mikrosync.messages.models import CustomerMessage, MessageSettings
from mikrosync.packages.models import Package
from mikrosync.payments.models import (
    MpesaAccount,
    Payment,
    PaymentSettings,
    PaymentWebhook,
    StkRequest,
    Wallet,
    WalletEntry,
)
from mikrosync.routers.models import Router, RouterOutage
from mikrosync.subscribers.models import Subscriber, SyncEvent
from mikrosync.sync.reconcile_runs.models import ReconcileRun
from mikrosync.tenants.models import StaffUser, Tenant
from mikrosync.vouchers.models import Voucher, VoucherBatch, VoucherEvent

__all__ = [
    "AuditEntry",
    "Base",
    "CustomerMessage",
    "MessageSettings",
    "MpesaAccount",
    "Package",
    "Payment",
    "PaymentSettings",
    "PaymentWebhook",
    "ReconcileRun",
    "Router",
    "RouterOutage",
    "StaffUser",
    "StkRequest",
    "Subscriber",
    "SyncEvent",
    "Tenant",
    "Voucher",
    "VoucherBatch",
    "VoucherEvent",
    "Wallet",
    "WalletEntry",
]
