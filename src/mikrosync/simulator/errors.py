"""Router-side errors and the exact texts RouterOS answers with (ROUTEROS_API.md §7).

Table and command code raise these; `connection.py` turns them into `!trap`/`!fatal` sentences.
Every message of §7 lives here, once, so a doubtful text or category is a one-line change.
Category choices for the [?] rows of §7 are recorded in docs/routeros-simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Fatal",
    "Trap",
    "TrapError",
    "builtin_not_removable",
    "duplicate",
    "invalid_value",
    "missing_required",
    "no_such_item",
    "not_matching",
    "unknown_command",
    "unknown_parameter",
]

CATEGORY_MISSING = 0
CATEGORY_ARGUMENT = 1


@dataclass(frozen=True)
class Trap:
    """One `!trap` sentence: only `message` and an optional `category` (§4.2 rule 2)."""

    message: str
    category: int | None = None


class TrapError(Exception):
    """A command failed; the reply is these traps followed by `!done`."""

    def __init__(self, *traps: Trap) -> None:
        super().__init__(", ".join(t.message for t in traps))
        self.traps = traps


class Fatal(Exception):
    """The connection must end: reply `!fatal <message>` and close the connection."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def trap(message: str, category: int | None = None) -> TrapError:
    """Shorthand for a single-trap error."""
    return TrapError(Trap(message, category))


def no_such_item() -> TrapError:
    """Unknown `.id`/`numbers`/name in set, remove, enable, disable, unset."""
    return trap("no such item (4)", CATEGORY_MISSING)


def unknown_parameter(name: str) -> TrapError:
    """An attribute the menu does not know, or a read-only one being written."""
    return trap(f"unknown parameter {name}")


def invalid_value(name: str) -> TrapError:
    """A value of the wrong shape (bad IP, bad number, bad boolean)."""
    return trap(f"invalid value for argument {name}", CATEGORY_ARGUMENT)


def not_matching(name: str) -> TrapError:
    """A reference or enum value that matches nothing (e.g. an unknown profile)."""
    return trap(f"input does not match any value of {name}", CATEGORY_ARGUMENT)


def missing_required(name: str) -> TrapError:
    """`add` without a required property; the real text is unknown (§13), this is our choice."""
    return trap(f"failure: {name} must be specified", CATEGORY_ARGUMENT)


def duplicate(message: str) -> TrapError:
    """Duplicate key; each menu has its own text and none carries a category (§7)."""
    return trap(message)


def builtin_not_removable() -> TrapError:
    """Removing a built-in item (the `default` profiles); the real text is our guess."""
    return trap("failure: default item can not be removed")


def unknown_command(segment: str) -> TrapError:
    """Unknown menu or verb: the two-trap MultiTrap real routers send (§4.1)."""
    return TrapError(
        Trap(f"no such command or directory ({segment})", CATEGORY_MISSING),
        Trap("no such command prefix"),
    )
