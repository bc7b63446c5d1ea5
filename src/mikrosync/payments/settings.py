"""A tenant's renewal rules, with defaults while it has none stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.payments.models import PaymentSettings

DEFAULT_MAX_PERIODS = 1
DEFAULT_CURRENCY = "KES"


class PaymentSettingsRead(BaseModel):
    max_periods: int
    """At most this many periods are bought from the wallet at once."""
    currency: str


class PaymentSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_periods: int | None = Field(default=None, ge=1, le=120)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


async def load(session: AsyncSession, tenant_id: int) -> PaymentSettingsRead:
    stored = await session.get(PaymentSettings, tenant_id)
    if stored is None:
        return PaymentSettingsRead(max_periods=DEFAULT_MAX_PERIODS, currency=DEFAULT_CURRENCY)
    return PaymentSettingsRead(max_periods=stored.max_periods, currency=stored.currency)


async def update(
    session: AsyncSession, tenant_id: int, data: PaymentSettingsUpdate
) -> PaymentSettingsRead:
    stored = await session.get(PaymentSettings, tenant_id)
    if stored is None:
        stored = PaymentSettings(
            tenant_id=tenant_id, max_periods=DEFAULT_MAX_PERIODS, currency=DEFAULT_CURRENCY
        )
        session.add(stored)
    if data.max_periods is not None:
        stored.max_periods = data.max_periods
    if data.currency is not None:
        stored.currency = data.currency
    await session.commit()
    return PaymentSettingsRead(max_periods=stored.max_periods, currency=stored.currency)
