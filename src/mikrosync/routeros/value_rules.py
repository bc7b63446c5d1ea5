"""Value rules for what we send to RouterOS, shared by the API, the UI and CSV import.

Each function returns the cleaned value or raises ValueError with a message meant for the
operator (pydantic turns it into a 422 naming the field).

Patterns are applied with `fullmatch`, never `match` with `$`: `$` also matches before a final
newline, which let "name\n" through to the router (found by tests/security/test_word_injection.py).

Each rule that a JSON schema can state has its `*_SCHEMA` beside it (pattern, lengths), which
the request models put into the OpenAPI document: the schema and the check are the same rule,
so a value the schema allows is accepted and one it forbids is refused (schemathesis checks
both ways, tests/fuzz/test_schemathesis.py). The patterns spell out their character classes
(`[0-9]`, not `\\d`) because JSON schema's regexes and Python's disagree on the wider ones.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

MAX_NAME_LENGTH = 64
_PRINTABLE_NO_SPACE = re.compile(r"[\x21-\x7e]+")
_RATE = r"[0-9]+(?:\.[0-9]+)?[kKMG]?"
_RATE_PAIR = re.compile(rf"{_RATE}(?:/{_RATE})?")
_TIME = r"[0-9]+[smhdw]?"
_TIME_PAIR = re.compile(rf"{_TIME}(?:/{_TIME})?")
_PRIORITY = re.compile(r"[1-8](?:/[1-8])?")
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Whitespace by both readings (Python's str and JSON schema's), spelled out.
_SPACE = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
_EMAIL_PART = rf"[^@{_SPACE}]+"
_EMAIL = re.compile(rf"{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}")
MAX_EMAIL_LENGTH = 254
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_HOST = re.compile(r"[A-Za-z0-9.:_-]{1,255}")
_RATE_LIMIT = re.compile(
    rf" *{_RATE_PAIR.pattern}(?: +{_RATE_PAIR.pattern}(?: +{_RATE_PAIR.pattern}"
    rf"(?: +{_TIME_PAIR.pattern}(?: +{_PRIORITY.pattern}(?: +{_RATE_PAIR.pattern})?)?)?)?)? *"
)


def _whole(pattern: str) -> str:
    return f"^(?:{pattern})$"


NAME_SCHEMA: dict[str, Any] = {"minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": "^[!-~]+$"}
"""A RouterOS login name or secret: 1-64 printable ASCII characters, no spaces."""
PROFILE_NAME_SCHEMA: dict[str, Any] = {"pattern": _whole(_PROFILE_NAME.pattern)}
RATE_LIMIT_SCHEMA: dict[str, Any] = {"pattern": _whole(_RATE_LIMIT.pattern)}
IPV4_SCHEMA: dict[str, Any] = {"pattern": _whole(_IPV4.pattern)}
IPV4_OR_BLANK_SCHEMA: dict[str, Any] = {"pattern": _whole(f"|{_IPV4.pattern}")}
"""An IPv4 address; blank means none."""
EMAIL_SCHEMA: dict[str, Any] = {"maxLength": MAX_EMAIL_LENGTH, "pattern": _whole(_EMAIL.pattern)}
EMAIL_OR_BLANK_SCHEMA: dict[str, Any] = {
    "maxLength": MAX_EMAIL_LENGTH,
    "pattern": _whole(f"|{_EMAIL.pattern}"),
}
HOST_SCHEMA: dict[str, Any] = {"pattern": _whole(_HOST.pattern)}


def routeros_name(value: str, *, what: str = "username") -> str:
    """A login name RouterOS stores safely: printable ASCII, no spaces, 1-64 characters."""
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} must be at most {MAX_NAME_LENGTH} characters")
    if not _PRINTABLE_NO_SPACE.fullmatch(value):
        raise ValueError(
            f"{what} may contain only printable ASCII characters, without spaces "
            "or control characters"
        )
    return value


def routeros_secret(value: str) -> str:
    return routeros_name(value, what="password")


def rate_limit(value: str) -> str:
    """RouterOS rate-limit syntax: rx[/tx] [burst-rx[/tx] [threshold[/tx] [time[/tx] [priority
    [min-rx[/tx]]]]]], e.g. `10M/5M` or `10M/5M 20M/10M 8M/4M 10/10 8 2M/1M`."""
    parts = value.split(" ")
    parts = [part for part in parts if part]
    if not parts:
        raise ValueError("rate limit must not be empty; use RouterOS syntax such as 10M/5M")
    if any(character.isspace() and character != " " for character in value):
        raise ValueError("separate the parts of a rate limit with spaces (no tabs or newlines)")
    if len(parts) > 6:
        raise ValueError("rate limit has more than 6 parts")
    checks = [_RATE_PAIR, _RATE_PAIR, _RATE_PAIR, _TIME_PAIR, _PRIORITY, _RATE_PAIR]
    for position, (part, pattern) in enumerate(zip(parts, checks, strict=False)):
        if not pattern.fullmatch(part):
            if _RATE_PAIR.fullmatch("".join(parts)):
                # "10 M/5 M": spaces separate the optional burst values, so none inside a
                # rate (only said of a value the grammar refuses: "10 5M" is a rate and a
                # burst rate).
                raise ValueError(
                    f"write the rate without spaces inside ({value.strip()!r}): upload/download "
                    "such as 10M/5M"
                )
            what, example = _RATE_PARTS[position]
            raise ValueError(
                f"{part!r} is not {what}: write numbers with an optional k, M or G, such as "
                f"{example}" + ("" if position == 0 else " (the whole rate such as 10M/5M)")
            )
    return " ".join(parts)


# What each space-separated value of a rate limit is, with an example of it.
_RATE_PARTS = (
    ("a rate (upload/download)", "10M/5M"),
    ("a burst rate (upload/download)", "20M/10M"),
    ("a burst threshold (upload/download)", "8M/4M"),
    ("a burst time in seconds (upload/download)", "10/10"),
    ("a priority from 1 to 8", "8"),
    ("a minimum rate (upload/download)", "2M/1M"),
)


def ipv4_address(value: str) -> str:
    if not _IPV4.fullmatch(value):
        raise ValueError(f"{value!r} is not an IPv4 address such as 10.0.0.5")
    return str(ipaddress.IPv4Address(value))


def profile_name(value: str) -> str:
    if not _PROFILE_NAME.fullmatch(value):
        raise ValueError(
            "profile name must be 1-64 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def profile_name_from(package_name: str) -> str:
    """A router-safe profile name derived from a package name ("Home 10M" -> "home-10m")."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", package_name.lower()).strip("-._")
    return (slug or "package")[:MAX_NAME_LENGTH]


def email_address(value: str) -> str:
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def hostname(value: str) -> str:
    if not _HOST.fullmatch(value):
        raise ValueError("host must be an IP address or DNS name")
    return value


def optional(
    check: Callable[[str], str], *, blank_is_absent: bool = False
) -> Callable[[str | None], str | None]:
    """`check` for a field that may be absent (None), e.g. in a PATCH body."""

    def checked(value: str | None) -> str | None:
        if value is None or (blank_is_absent and value == ""):
            return None
        return check(value)

    checked.__name__ = check.__name__
    return checked
