"""API schemas for payments and wallets. Amounts travel as strings ("20.00"): exact decimals."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from mikrosync.http.fields import NO_NUL_PATTERN, Id, Page, RequestModel, required_in_schema
from mikrosync.payments.models import Method, PaymentStatus

# Serialised as a string with two decimals: JSON numbers would be floats to most clients.
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


_AMOUNT_TEXT = re.compile(r"[1-9][0-9]{0,11}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9])")
_WHOLE_AMOUNT_TEXT = re.compile(r"[1-9][0-9]{0,11}(?:\.00?)?")


def _as_written(text: re.Pattern[str]) -> Any:
    """A check that a string amount is written as the schema says (digits, a dot, cents)."""

    def check(value: object) -> object:
        if isinstance(value, str) and not text.fullmatch(value):
            raise ValueError("write the amount as digits, such as 1500 or 99.50")
        return value

    return AfterValidator(check)


def _amount_schema(text: re.Pattern[str], *, whole: bool) -> Any:
    """What `money.parse_amount` takes, as JSON schema: above zero, at most
    999999999999.99, cents at most (`whole`: no cents); a string of digits, or a number."""
    number: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0}
    if whole:
        number |= {"maximum": 999999999999, "multipleOf": 1}
    else:
        number |= {"maximum": 999999999999.99, "multipleOf": 0.01}
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": f"^(?:{text.pattern})$"},
                {"type": "integer", "minimum": 1, "maximum": 999999999999},
                number,
            ]
        }
    )


Amount = Annotated[
    StrictStr | StrictInt | StrictFloat,
    _as_written(_AMOUNT_TEXT),
    _amount_schema(_AMOUNT_TEXT, whole=False),
]
WholeAmount = Annotated[
    StrictStr | StrictInt | StrictFloat,
    _as_written(_WHOLE_AMOUNT_TEXT),
    _amount_schema(_WHOLE_AMOUNT_TEXT, whole=True),
]
"""An amount M-Pesa's STK push takes: whole units."""


class PaymentCreate(RequestModel):
    """A payment recorded by staff (cash at the office, a bank transfer...)."""

    subscriber_id: Id
    # Checked by the service (positive, at most two decimals): a string keeps it exact.
    amount: Amount
    method: Literal["cash", "bank", "other"] = "cash"
    reference: str | None = Field(default=None, max_length=64)
    """A receipt or transfer number: recording the same one twice is a no-op."""
    payer_name: str | None = Field(default=None, max_length=200)
    payer_phone: str | None = Field(default=None, max_length=50)
    received_at: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=1000)


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscriber_id: int | None
    amount: Money
    method: str
    status: str
    provider: str
    provider_reference: str | None
    account_reference: str | None
    payer_phone: str | None
    payer_name: str | None
    received_at: datetime
    recorded_by: str
    note: str | None


class RenewalRead(BaseModel):
    periods: int
    expires_at: datetime | None
    cost: Money
    skipped: str | None


class PaymentRecorded(BaseModel):
    payment: PaymentRead
    duplicate: bool
    """True: this reference was recorded before; nothing changed now."""
    renewal: RenewalRead | None


class PaymentFilters(RequestModel):
    from_query = True

    date_from: AwareDatetime | None = None
    date_to: AwareDatetime | None = None
    method: Method | None = None
    status: PaymentStatus | None = None
    matched: bool | None = None
    subscriber_id: Id | None = None
    q: str | None = Field(default=None, max_length=100, pattern=NO_NUL_PATTERN)
    """Search in the reference, the account typed by the payer, the phone and the name."""
    page: Page = 1
    per_page: int = Field(default=50, ge=1, le=500)


class PaymentTotals(BaseModel):
    count: int
    amount: Money


class PaymentPage(BaseModel):
    items: list[PaymentRead]
    total: int
    page: int
    per_page: int
    totals: PaymentTotals
    """Over every matching payment, not just this page."""


class AssignPayment(RequestModel):
    model_config = ConfigDict(json_schema_extra=required_in_schema("subscriber_id"))

    # Optional in the schema so that another tenant's payment id answers 404 before a
    # missing field answers 422 (the route checks the payment first, then requires this).
    subscriber_id: Id | None = None


class RefundPayment(RequestModel):
    note: str | None = Field(default=None, max_length=500)


class WalletEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    amount: Money
    balance_after: Money
    reason: str
    payment_id: int | None
    periods: int | None
    expires_at: datetime | None
    actor: str
    created_at: datetime


class WalletRead(BaseModel):
    subscriber_id: int
    balance: Money
    entries: list[WalletEntryRead]
    """Newest first."""
