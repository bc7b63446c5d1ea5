"""Typed records of the router objects mikrosync reads and writes.

Raw replies are ``dict[str, str]`` (the connection never lets librouteros cast values) and are
turned into frozen dataclasses here, in one place: ``from_row``. Writes go the other way
through ``Record.write_fields``.

Field names map mechanically: ``remote_address`` <-> ``remote-address``, ``id`` <-> ``.id``.
A field set to ``None`` in a desired record means "not managed": ``ensure`` neither sends
nor compares it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from mikrosync.routeros.tags import OwnerTag, parse_tag

BLOCK_LIST = "mikrosync-blocked"
"""The ``/ip/firewall/address-list`` list mikrosync puts blocked subscribers on."""

ActiveKind = Literal["ppp", "hotspot"]

_TRUE = frozenset({"true", "yes"})
_BOOL_ATTRS = frozenset({"disabled"})


def api_name(attr: str) -> str:
    """Python attribute name -> RouterOS property name."""
    return ".id" if attr == "id" else attr.replace("_", "-")


def parse_bool(value: str) -> bool:
    """RouterOS prints ``true``/``false``; input and old versions use ``yes``/``no``."""
    return value.lower() in _TRUE


def api_value(value: object) -> str:
    """Python value -> API text; booleans go out as ``yes``/``no`` (what RouterOS accepts)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000}
_RATE_RE = re.compile(r"(\d+)([kKMG]?)")


def _canonical_rate(value: str) -> str:
    """``10M/512k`` and ``10000000/512000`` are the same limit; compare them as numbers."""
    out = []
    for part in value.split("/"):
        match = _RATE_RE.fullmatch(part)
        out.append(str(int(match[1]) * _SUFFIX[match[2]]) if match else part)
    return "/".join(out)


def _canonical_address(value: str) -> str:
    """A host prints as ``10.0.0.5/32`` although it was set as ``10.0.0.5``."""
    return ",".join(a.removesuffix("/32") for a in value.split(","))


_CANONICAL = {
    "max_limit": _canonical_rate,
    "limit_at": _canonical_rate,
    "rate_limit": _canonical_rate,
    "target": _canonical_address,
    "address": _canonical_address,
}


def same_value(attr: str, desired: object, observed: object) -> bool:
    """Compare a desired and an observed field the way the router means them."""
    if isinstance(desired, str) and isinstance(observed, str) and attr in _CANONICAL:
        return _CANONICAL[attr](desired) == _CANONICAL[attr](observed)
    return desired == observed


@dataclass(frozen=True)
class Record:
    """Base of every menu row type; subclasses set ``PATH`` and their key."""

    PATH: ClassVar[str]
    KEY: ClassVar[str] = "name"
    """Attribute that names an object within its menu (``find``/``remove`` by name)."""
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"id"})

    @property
    def key(self) -> str:
        return str(getattr(self, self.KEY))

    @property
    def item_id(self) -> str:
        """The router's ``.id`` (``*1A``); empty in a desired record. Every subclass has an
        ``id`` field; it cannot live here because it must come last (it has a default)."""
        return str(getattr(self, "id", ""))

    @property
    def owner(self) -> OwnerTag | None:
        """The parsed owner tag, or ``None`` when the object is not mikrosync's."""
        return parse_tag(getattr(self, "comment", None))

    @classmethod
    def scope_words(cls) -> tuple[str, ...]:
        """Query words every lookup in this menu carries (e.g. the address list name)."""
        return ()

    @classmethod
    def key_words(cls, key: str) -> tuple[str, ...]:
        """Query words that select the object(s) called ``key``."""
        return (*cls.scope_words(), f"?={api_name(cls.KEY)}={key}")

    @classmethod
    def proplist(cls) -> str:
        return ",".join(api_name(f.name) for f in dataclasses.fields(cls))

    def write_fields(self) -> dict[str, object]:
        """Managed, writable attributes (``None`` = not managed)."""
        return {
            f.name: value
            for f in dataclasses.fields(self)
            if f.name not in self.READ_ONLY and (value := getattr(self, f.name)) is not None
        }


R = TypeVar("R", bound=Record)


def from_row(cls: type[R], row: Mapping[str, str]) -> R:
    """Build a record from one raw reply row; absent properties take the field default."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        raw = row.get(api_name(f.name))
        if raw is None:
            continue
        values[f.name] = parse_bool(raw) if f.name in _BOOL_ATTRS else raw
    return cls(**values)


@dataclass(frozen=True)
class RateProfile(Record):
    """A profile carrying a package's speed as ``rate-limit`` (``rx/tx``, e.g. ``10M/5M``)."""

    name: str
    rate_limit: str | None = None
    comment: str | None = None
    id: str = ""


@dataclass(frozen=True)
class PppProfile(RateProfile):
    """``/ppp/profile``: what a PPP secret's ``profile`` names."""

    PATH: ClassVar[str] = "/ppp/profile"


@dataclass(frozen=True)
class HotspotProfile(RateProfile):
    """``/ip/hotspot/user/profile``: the hotspot twin of ``PppProfile``."""

    PATH: ClassVar[str] = "/ip/hotspot/user/profile"


@dataclass(frozen=True)
class PppSecret(Record):
    """``/ppp/secret``: a PPPoE (or other PPP) subscriber login."""

    PATH: ClassVar[str] = "/ppp/secret"
    name: str
    password: str | None = None
    profile: str | None = None
    service: str | None = None
    remote_address: str | None = None
    comment: str | None = None
    disabled: bool | None = None
    id: str = ""


@dataclass(frozen=True)
class HotspotUser(Record):
    """``/ip/hotspot/user``: a hotspot subscriber login."""

    PATH: ClassVar[str] = "/ip/hotspot/user"
    name: str
    password: str | None = None
    profile: str | None = None
    server: str | None = None
    comment: str | None = None
    disabled: bool | None = None
    id: str = ""


@dataclass(frozen=True)
class SimpleQueue(Record):
    """``/queue/simple``: the rate limit of a static-IP subscriber (``max-limit`` up/down)."""

    PATH: ClassVar[str] = "/queue/simple"
    name: str
    target: str | None = None
    max_limit: str | None = None
    comment: str | None = None
    disabled: bool | None = None
    id: str = ""


@dataclass(frozen=True)
class AddressListEntry(Record):
    """``/ip/firewall/address-list`` entry; mikrosync uses the list ``mikrosync-blocked``.

    It has no name: within the list the ``address`` is the key.
    """

    PATH: ClassVar[str] = "/ip/firewall/address-list"
    KEY: ClassVar[str] = "address"
    address: str
    list: str = BLOCK_LIST
    comment: str | None = None
    disabled: bool | None = None
    id: str = ""

    @classmethod
    def scope_words(cls) -> tuple[str, ...]:
        return (f"?=list={BLOCK_LIST}",)


MANAGED_KINDS: tuple[type[Record], ...] = (
    PppProfile,
    HotspotProfile,
    PppSecret,
    HotspotUser,
    SimpleQueue,
    AddressListEntry,
)


@dataclass(frozen=True)
class LiveSession:
    """A live login from ``/ppp/active`` or ``/ip/hotspot/active`` (read-only)."""

    kind: ActiveKind
    id: str
    name: str
    address: str | None = None
    uptime: str | None = None
    caller_id: str | None = None


ACTIVE_PATHS: dict[ActiveKind, str] = {"ppp": "/ppp/active", "hotspot": "/ip/hotspot/active"}
ACTIVE_NAME_FIELD: dict[ActiveKind, str] = {"ppp": "name", "hotspot": "user"}


def active_from_row(kind: ActiveKind, row: Mapping[str, str]) -> LiveSession:
    """PPP rows name the user ``name`` and the peer ``caller-id``; hotspot rows use
    ``user`` and ``mac-address``. One record type hides that."""
    return LiveSession(
        kind=kind,
        id=row.get(".id", ""),
        name=row.get(ACTIVE_NAME_FIELD[kind], ""),
        address=row.get("address"),
        uptime=row.get("uptime"),
        caller_id=row.get("caller-id" if kind == "ppp" else "mac-address"),
    )


@dataclass(frozen=True)
class SystemResource:
    """The parts of ``/system/resource`` mikrosync shows: version, board, uptime."""

    version: str
    uptime: str | None = None
    board_name: str | None = None
    architecture_name: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """``7.19.4 (stable)`` -> ``(7, 19, 4)``; empty if the router said nothing usable."""
        match = re.match(r"\d+(?:\.\d+)*", self.version)
        return tuple(int(p) for p in match[0].split(".")) if match else ()

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> SystemResource:
        return cls(
            version=row.get("version", ""),
            uptime=row.get("uptime"),
            board_name=row.get("board-name"),
            architecture_name=row.get("architecture-name"),
            extra=dict(row),
        )
