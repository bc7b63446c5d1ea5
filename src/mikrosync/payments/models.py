"""Payment, wallet and provider tables.

A Payment is what a payer handed over (cash at the office, an M-Pesa receipt); it is unique per
(tenant, provider, provider reference), so a replayed callback cannot be recorded twice. The
wallet is a balance per subscriber plus an append-only ledger: every credit, debit and free
renewal is one WalletEntry carrying the balance after it, so the ledger of a wallet always sums
to its balance.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mikrosync.clock import now
from mikrosync.db.base import Base, TenantOwnedMixin, TimestampMixin, UTCDateTime

# Twelve digits, two after the point: what the tenant's currency needs, and what we refuse
# to round (an amount with more decimals is refused, never silently cut).
MONEY = Numeric(14, 2)


class Method(StrEnum):
    CASH = "cash"
    MPESA = "mpesa"
    BANK = "bank"
    OTHER = "other"


class PaymentStatus(StrEnum):
    APPLIED = "applied"  # credited to a subscriber's wallet
    UNMATCHED = "unmatched"  # no subscriber found: waits for an operator
    REFUNDED = "refunded"  # an unmatched payment the operator marked as refunded


class EntryKind(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    # A renewal an operator granted without money: amount 0, recorded so the ledger tells
    # every renewal, paid or not.
    FREE = "free"


class Payment(TenantOwnedMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        # A replayed callback or a double-clicked form is a no-op, even under concurrency.
        UniqueConstraint("tenant_id", "provider", "provider_reference"),
        Index("ix_payments_tenant_received", "tenant_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL while unmatched (and for refunded ones); SET NULL keeps the money record when a
    # subscriber row goes.
    subscriber_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="SET NULL"), index=True, nullable=True
    )
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # "cash", "mpesa", ...: the namespace of `provider_reference`.
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    # The provider's transaction id (M-Pesa TransID / receipt); NULL for a cash payment
    # without a receipt number (NULLs never clash in a unique constraint).
    provider_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What the payer typed as account (M-Pesa BillRefNumber), kept for matching by hand.
    account_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    payer_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    payer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(254), nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The provider's callback as received (it carries no secret of ours).
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, nullable=False)


class Wallet(TenantOwnedMixin, Base):
    """A subscriber's balance; changed only together with a WalletEntry, under the
    subscriber's row lock."""

    __tablename__ = "wallets"

    subscriber_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[Decimal] = mapped_column(MONEY, nullable=False, default=Decimal("0"))


class WalletEntry(TenantOwnedMixin, Base):
    """One line of a wallet's ledger; never updated or deleted (append-only)."""

    __tablename__ = "wallet_entries"
    __table_args__ = (Index("ix_wallet_entries_subscriber", "subscriber_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    # Always >= 0; `kind` gives the sign.
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    balance_after: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    payment_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("payments.id", ondelete="SET NULL"), nullable=True
    )
    # For a renewal (debit or free): how many periods it bought and the expiry it set.
    periods: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    actor: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, nullable=False)


class PaymentSettings(Base):
    """A tenant's renewal rules (defaults apply while it has no row)."""

    __tablename__ = "payment_settings"

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    # At most this many periods are bought from the wallet at once.
    max_periods: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="KES")


class MpesaAccount(TenantOwnedMixin, TimestampMixin, Base):
    """A tenant's Daraja app: credentials encrypted by the vault, and the secret callback
    token (Daraja does not sign callbacks, so the URL itself is the secret)."""

    __tablename__ = "mpesa_accounts"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortcode: Mapped[str] = mapped_column(String(16), nullable=False)
    # Daraja's base address: the sandbox, production, or the local simulator.
    api_url: Mapped[str] = mapped_column(String(200), nullable=False)
    consumer_key_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    consumer_secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    passkey_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The callback token is looked up by its SHA-256 (an index on a secret's hash, not on the
    # secret); the token itself is kept encrypted because each STK push sends the full URL.
    callback_token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    callback_token_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    # Where Daraja reaches this server (https://isp.example.com); the callback paths follow.
    callback_base_url: Mapped[str] = mapped_column(String(200), nullable=False)
    # Source addresses/networks allowed to call back; empty: any.
    allowed_sources: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)


class StkRequest(TenantOwnedMixin, Base):
    """An STK push we started: its callback is matched by CheckoutRequestID."""

    __tablename__ = "stk_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkout_request_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    subscriber_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="SET NULL"), nullable=True
    )
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    # pending, then succeeded (with the payment) or failed (with Daraja's ResultDesc).
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    result_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_desc: Mapped[str | None] = mapped_column(String(500), nullable=True)
    payment_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("payments.id", ondelete="SET NULL"), nullable=True
    )
    requested_by: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, nullable=False)


class PaymentWebhook(TenantOwnedMixin, Base):
    """A generic payment source (another gateway, a billing system) that posts payments signed
    with HMAC-SHA256 under its own secret; `provider` namespaces its references."""

    __tablename__ = "payment_webhooks"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, nullable=False)
