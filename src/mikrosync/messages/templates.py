"""Message texts: per-tenant templates with {placeholders}, filled without str.format (a
template typed by an admin must not reach attributes: only listed names are replaced)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mikrosync.messages.models import Event

DEFAULTS = {
    Event.PAYMENT_RECEIVED: (
        "Hello {name}, we received {amount} {currency}. Balance {balance} {currency}. "
        "Internet until {expiry}."
    ),
    Event.RECONNECTED: (
        "Hello {name}, payment of {amount} {currency} received: you are reconnected until "
        "{expiry}. Balance {balance} {currency}."
    ),
    Event.EXPIRING: (
        "Hello {name}, your internet expires on {expiry}. Pay {price} {currency}, "
        "account {username}, to stay online."
    ),
    Event.EXPIRED: (
        "Hello {name}, your internet expired on {expiry}. Pay {price} {currency}, "
        "account {username}, to reconnect."
    ),
}
PLACEHOLDERS = ("name", "username", "amount", "balance", "expiry", "price", "currency", "days")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """`template` with each known {placeholder} replaced; unknown ones are left as typed."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def text_for(event: Event, templates: Mapping[str, object], values: Mapping[str, str]) -> str:
    custom = templates.get(event.value)
    template = custom if isinstance(custom, str) and custom.strip() else DEFAULTS[event]
    return render(template, values)
