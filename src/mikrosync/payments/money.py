"""Amounts: decimal, positive, at most two decimals. Anything else is refused, never rounded."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from mikrosync.errors import InvalidInput

MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """A payment amount from a form, JSON number or string: > 0, <= MAX_AMOUNT, cents at most.

    Floats are read through their shortest repr (1.1 stays 1.1, not 1.100000000000000088...).
    """
    if isinstance(value, bool) or value is None:
        raise InvalidInput(field, "the amount is missing")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(field, f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise InvalidInput(field, f"{value!r} is not an amount")
    if amount <= 0:
        raise InvalidInput(field, "the amount must be greater than zero")
    if amount > MAX_AMOUNT:
        raise InvalidInput(field, f"the amount must be at most {MAX_AMOUNT}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(CENT):
        raise InvalidInput(field, "the amount has more than two decimals")
    return amount.quantize(CENT)
