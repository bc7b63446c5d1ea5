"""Value kinds of menu fields: validation and the normal form RouterOS prints (§8).

RouterOS accepts `yes|no|true|false` and prints `true|false`; numbers are decimal; IPs are
checked. Comparing in queries needs the same normal forms, hence `normalise_for_compare`.
Also the version-dependent date format and the duration format used by uptimes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from mikrosync.simulator.errors import invalid_value, not_matching

__all__ = [
    "Kind",
    "format_date",
    "format_duration",
    "normalise",
    "normalise_for_compare",
]

TRUE_WORDS = frozenset({"yes", "true"})
FALSE_WORDS = frozenset({"no", "false"})


class Kind(Enum):
    """How a field's input is checked and normalised."""

    TEXT = "text"
    BOOL = "bool"
    INT = "int"
    IP = "ip"
    PREFIX = "prefix"
    ENUM = "enum"
    TARGETS = "targets"
    """Comma list of addresses (printed as prefixes, a host as /32) or interface names."""
    REF = "ref"
    """Name of an item in another menu; checked by the table engine, not here."""


def normalise(kind: Kind, name: str, value: str, choices: tuple[str, ...] = ()) -> str:
    """Return the stored form of `value` or raise the trap RouterOS would send."""
    if kind is Kind.BOOL:
        lowered = value.lower()
        if lowered in TRUE_WORDS:
            return "true"
        if lowered in FALSE_WORDS:
            return "false"
        raise invalid_value(name)
    if kind is Kind.INT:
        try:
            return str(int(value, 10))
        except ValueError:
            raise invalid_value(name) from None
    if kind is Kind.IP:
        return _checked(name, value, lambda v: str(ipaddress.ip_address(v)))
    if kind is Kind.PREFIX:
        return _checked(name, value, lambda v: str(ipaddress.ip_network(v, strict=False)))
    if kind is Kind.TARGETS:
        return ",".join(_target(part) for part in value.split(","))
    if kind is Kind.ENUM and value not in choices:
        raise not_matching(name)
    return value


def _target(part: str) -> str:
    try:
        return str(ipaddress.ip_network(part, strict=False))
    except ValueError:
        return part  # an interface name


def _checked(name: str, value: str, convert: Callable[[str], str]) -> str:
    try:
        return convert(value)
    except ValueError:
        raise invalid_value(name) from None


def normalise_for_compare(value: str) -> int | str:
    """Query comparisons are type-aware: booleans unify, integers compare numerically."""
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return "true"
    if lowered in FALSE_WORDS:
        return "false"
    try:
        return int(value, 10)
    except ValueError:
        return value


def format_duration(seconds: float) -> str:
    """RouterOS duration: `1w2d3h4m5s`, `7h17m52s`, `0s`."""
    rest = int(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    if rest or not parts:
        parts.append(f"{rest}s")
    return "".join(parts)


def format_date(moment: datetime, version: tuple[int, ...]) -> str:
    """Dates are `may/01/2023 20:52:13` before 7.10 and ISO `2023-07-14 19:24:07` after."""
    if version < (7, 10):
        return moment.strftime("%b/%d/%Y %H:%M:%S").lower()
    return moment.strftime("%Y-%m-%d %H:%M:%S")
