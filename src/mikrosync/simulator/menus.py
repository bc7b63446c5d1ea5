"""Declarations of the simulated menus (ROUTEROS_API.md §8): fields, defaults, keys, verbs.

Pure data: the behaviour is in `tables.py` (engine) and `commands.py` (verbs). Adding a menu
means adding a `MenuSpec` here and listing it in `MENUS`.
"""

from __future__ import annotations

from mikrosync.simulator.tables import FieldSpec, MenuSpec
from mikrosync.simulator.values import Kind

__all__ = ["HOTSPOT_ACTIVE", "HOTSPOT_USER", "MENUS", "PPP_ACTIVE", "PPP_SECRET"]

LIST_VERBS = frozenset({"print", "getall", "add", "set", "remove", "enable", "disable", "unset"})
LIST_VERBS_WITH_COMMENT = LIST_VERBS | {"comment"}
READ_REMOVE_VERBS = frozenset({"print", "getall", "remove"})
YES_NO_DEFAULT = ("yes", "no", "default")


def text(name: str, default: str | None = None, *, required: bool = False) -> FieldSpec:
    """A free-text settable field."""
    return FieldSpec(name, Kind.TEXT, default, required=required)


def flag(name: str, default: str = "false") -> FieldSpec:
    """A settable boolean, printed `true`/`false`."""
    return FieldSpec(name, Kind.BOOL, default)


def number(name: str, default: str | None = "0") -> FieldSpec:
    """A settable integer."""
    return FieldSpec(name, Kind.INT, default)


def choice(name: str, choices: tuple[str, ...], default: str) -> FieldSpec:
    """A settable enum."""
    return FieldSpec(name, Kind.ENUM, default, choices=choices)


def readonly(name: str, default: str | None = None) -> FieldSpec:
    """A property only the router writes."""
    return FieldSpec(name, Kind.TEXT, default, settable=False)


def readonly_all(*names: str) -> tuple[FieldSpec, ...]:
    """Several read-only properties without defaults (live menus fill them at print time)."""
    return tuple(readonly(n) for n in names)


COMMENT = text("comment")
DISABLED = flag("disabled")

PPP_PROFILE = MenuSpec(
    path="/ppp/profile",
    fields=(
        text("name", required=True),
        *(text(n) for n in ("local-address", "remote-address", "rate-limit", "dns-server")),
        *(text(n) for n in ("wins-server", "idle-timeout", "session-timeout", "interface-list")),
        *(text(n) for n in ("incoming-filter", "outgoing-filter", "bridge")),
        text("address-list", ""),
        text("on-up", ""),
        text("on-down", ""),
        text("insert-queue-before", "first"),
        text("parent-queue", "none"),
        text("queue-type", "default-small"),
        choice("only-one", YES_NO_DEFAULT, "default"),
        choice("change-tcp-mss", YES_NO_DEFAULT, "default"),
        choice("use-compression", YES_NO_DEFAULT, "default"),
        choice("use-encryption", (*YES_NO_DEFAULT, "required"), "default"),
        choice("use-ipv6", (*YES_NO_DEFAULT, "required"), "yes"),
        choice("use-mpls", (*YES_NO_DEFAULT, "required"), "default"),
        choice("use-upnp", YES_NO_DEFAULT, "default"),
        COMMENT,
        readonly("default", "false"),
    ),
    verbs=LIST_VERBS_WITH_COMMENT,
    unique=(("name",),),
    duplicate_message="failure: profile with the same name already exists",
    builtins=(
        {".id": "*0", "name": "default", "default": "true"},
        {
            ".id": "*FFFFFFFE",
            "name": "default-encryption",
            "default": "true",
            "use-encryption": "yes",
        },
    ),
)

PPP_SECRET = MenuSpec(
    path="/ppp/secret",
    fields=(
        text("name", required=True),
        text("password", ""),
        choice("service", ("any", "async", "isdn", "l2tp", "pppoe", "pptp", "ovpn", "sstp"), "any"),
        FieldSpec("profile", Kind.REF, "default", ref="/ppp/profile"),
        text("caller-id", ""),
        FieldSpec("local-address", Kind.IP),
        FieldSpec("remote-address", Kind.IP),
        text("remote-ipv6-prefix"),
        text("routes", ""),
        text("ipv6-routes", ""),
        number("limit-bytes-in"),
        number("limit-bytes-out"),
        DISABLED,
        COMMENT,
        *readonly_all("last-logged-out", "last-caller-id", "last-disconnect-reason"),
    ),
    verbs=LIST_VERBS_WITH_COMMENT,
    unique=(("name",),),
    duplicate_message="failure: secret with the same name already exists",
)

PPP_ACTIVE = MenuSpec(
    path="/ppp/active",
    fields=readonly_all(
        "name",
        "service",
        "caller-id",
        "address",
        "uptime",
        "encoding",
        "session-id",
        "limit-bytes-in",
        "limit-bytes-out",
        "radius",
        "bytes",
        "packets",
    ),
    verbs=READ_REMOVE_VERBS,
    first_id=0x80000001,
)

HOTSPOT_USER_PROFILE = MenuSpec(
    path="/ip/hotspot/user/profile",
    fields=(
        text("name", required=True),
        *(text(n) for n in ("rate-limit", "session-timeout", "address-list", "on-login")),
        *(text(n) for n in ("on-logout", "incoming-filter", "outgoing-filter", "queue-type")),
        *(text(n) for n in ("incoming-packet-mark", "outgoing-packet-mark", "parent-queue")),
        text("insert-queue-before"),
        text("shared-users", "1"),
        text("idle-timeout", "none"),
        text("keepalive-timeout", "2m"),
        text("status-autorefresh", "1m"),
        text("mac-cookie-timeout", "3d"),
        text("address-pool", "none"),
        text("open-status-page", "always"),
        flag("add-mac-cookie", "true"),
        flag("transparent-proxy"),
        flag("advertise"),
        COMMENT,
        readonly("default", "false"),
    ),
    verbs=LIST_VERBS,
    unique=(("name",),),
    duplicate_message="failure: profile with the same name already exists",
    builtins=({".id": "*0", "name": "default", "default": "true"},),
)

HOTSPOT_USER = MenuSpec(
    path="/ip/hotspot/user",
    fields=(
        text("name", required=True),
        text("password", ""),
        FieldSpec("profile", Kind.REF, "default", ref="/ip/hotspot/user/profile"),
        text("server", "all"),
        text("limit-uptime"),
        number("limit-bytes-in", None),
        number("limit-bytes-out", None),
        number("limit-bytes-total", None),
        FieldSpec("address", Kind.IP),
        text("mac-address"),
        text("email"),
        text("routes"),
        DISABLED,
        COMMENT,
        readonly("uptime", "0s"),
        *(readonly(n, "0") for n in ("bytes-in", "bytes-out", "packets-in", "packets-out")),
        readonly("dynamic", "false"),
    ),
    verbs=LIST_VERBS_WITH_COMMENT,
    unique=(("server", "name"),),
    duplicate_message="failure: already have user with this name for this server",
)

HOTSPOT_ACTIVE = MenuSpec(
    path="/ip/hotspot/active",
    fields=readonly_all(
        "server",
        "user",
        "address",
        "mac-address",
        "login-by",
        "uptime",
        "idle-time",
        "session-time-left",
        "idle-timeout",
        "keepalive-timeout",
        "bytes-in",
        "bytes-out",
        "packets-in",
        "packets-out",
        "radius",
        "blocked",
    ),
    verbs=READ_REMOVE_VERBS,
    name_field="user",
    first_id=0x80000001,
)

_PAIR_ZERO = "0/0"
QUEUE_SIMPLE = MenuSpec(
    path="/queue/simple",
    fields=(
        text("name", required=True),
        FieldSpec("target", Kind.TARGETS, required=True),
        *(text(n, _PAIR_ZERO) for n in ("max-limit", "limit-at", "burst-limit")),
        text("burst-threshold", _PAIR_ZERO),
        text("burst-time", "0s/0s"),
        text("priority", "8/8"),
        text("queue", "default-small/default-small"),
        text("parent", "none"),
        text("packet-marks", ""),
        text("dst"),
        text("time"),
        DISABLED,
        COMMENT,
        readonly("dynamic", "false"),
        readonly("invalid", "false"),
        *(readonly(n, _PAIR_ZERO) for n in ("bytes", "packets", "rate", "packet-rate")),
        *(readonly(n, _PAIR_ZERO) for n in ("dropped", "queued-bytes", "queued-packets")),
    ),
    verbs=LIST_VERBS_WITH_COMMENT | {"move"},
    unique=(("name",),),
    duplicate_message="failure: already have queue with such name",
)

ADDRESS_LIST = MenuSpec(
    path="/ip/firewall/address-list",
    fields=(
        text("list", required=True),
        text("address", required=True),
        text("timeout"),
        DISABLED,
        COMMENT,
        readonly("dynamic", "false"),
        readonly("creation-time"),
    ),
    verbs=LIST_VERBS_WITH_COMMENT,
    unique=(("list", "address"),),
    duplicate_message="failure: already have such entry",
    name_field=None,
)

SYSTEM_IDENTITY = MenuSpec(
    path="/system/identity",
    fields=(text("name", "MikroTik"),),
    verbs=frozenset({"print", "getall", "set"}),
    singleton=True,
    name_field=None,
    builtins=({".id": "*0"},),
)

SYSTEM_RESOURCE = MenuSpec(
    path="/system/resource",
    fields=readonly_all(
        "uptime",
        "version",
        "build-time",
        "factory-software",
        "free-memory",
        "total-memory",
        "cpu",
        "cpu-count",
        "cpu-frequency",
        "cpu-load",
        "free-hdd-space",
        "total-hdd-space",
        "write-sect-since-reboot",
        "write-sect-total",
        "architecture-name",
        "board-name",
        "platform",
    ),
    verbs=frozenset({"print", "getall"}),
    singleton=True,
    name_field=None,
    builtins=({".id": "*0"},),
)

MENUS: dict[str, MenuSpec] = {
    spec.path: spec
    for spec in (
        PPP_PROFILE,
        PPP_SECRET,
        PPP_ACTIVE,
        HOTSPOT_USER_PROFILE,
        HOTSPOT_USER,
        HOTSPOT_ACTIVE,
        QUEUE_SIMPLE,
        ADDRESS_LIST,
        SYSTEM_IDENTITY,
        SYSTEM_RESOURCE,
    )
}
