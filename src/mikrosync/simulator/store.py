"""All menus of one simulated router: the tables plus the hooks live sessions attach.

`commands.py` reads and writes through a `Store`; `live.py` registers print-time renderers
(uptimes and counters that advance with the clock) and remove hooks (a removed active entry
ends its session). `state.py` dumps and loads the tables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from mikrosync.simulator.menus import MENUS
from mikrosync.simulator.tables import MenuSpec, Row, Table
from mikrosync.simulator.values import format_date

__all__ = ["Store", "parse_version"]

Renderer = Callable[[Row], Row]
RemoveHook = Callable[[list[Row]], None]
PrintHook = Callable[[], None]


def parse_version(version: str) -> tuple[int, ...]:
    """`7.18.2` -> (7, 18, 2); raises ValueError for anything else."""
    pieces = version.split(".")
    if not 2 <= len(pieces) <= 3 or not all(p.isdigit() for p in pieces):
        raise ValueError(f"version must look like 7.18.2 or 6.49, got {version!r}")
    return tuple(int(p) for p in pieces)


class Store:
    """The router's configuration and runtime tables, keyed by menu path."""

    def __init__(self, version: str, identity: str) -> None:
        self.version_text = version
        self.version = parse_version(version)
        self.booted = time.monotonic()
        self.tables: dict[str, Table] = {}
        self.renderers: dict[str, Renderer] = {}
        self.remove_hooks: dict[str, RemoveHook] = {}
        self.print_hooks: dict[str, PrintHook] = {}
        """Run before a print that renders only some rows (what rendering every row did)."""
        self.reset()
        self.set_identity(identity)

    def reset(self) -> None:
        """Empty every table back to its built-in items."""
        self.tables = {path: Table(spec, self.ref_exists) for path, spec in MENUS.items()}

    def menu(self, path: str) -> MenuSpec | None:
        """The spec of a menu path, if simulated."""
        table = self.tables.get(path)
        return table.spec if table else None

    def table(self, path: str) -> Table:
        """The table of a known menu (KeyError otherwise)."""
        return self.tables[path]

    def ref_exists(self, path: str, name: str) -> bool:
        """Whether `path` has an item named `name` (reference checks)."""
        return self.tables[path].find_by_name(name) is not None

    def now_text(self) -> str:
        """The current wall-clock date in this version's format."""
        return format_date(datetime.now(), self.version)

    def add(self, path: str, values: Row, *, trusted: bool = False) -> str:
        """Add an item, stamping `creation-time` where the menu has one."""
        table = self.tables[path]
        item_id = table.add(values, trusted=trusted)
        if table.spec.field("creation-time"):
            table.items[item_id]["creation-time"] = self.now_text()
        return item_id

    def remove(self, path: str, ids: list[str]) -> None:
        """Remove items and let live sessions react (a removed active entry is a kick)."""
        removed = self.tables[path].remove(ids)
        hook = self.remove_hooks.get(path)
        if hook:
            hook(removed)

    def printed(self, path: str) -> list[Row]:
        """Rows as `print` shows them: stored values plus live ones from a renderer."""
        rows = self.tables[path].rows()
        render = self.renderers.get(path)
        return [render(row) for row in rows] if render else rows

    def printed_named(self, path: str, name: str) -> list[Row]:
        """`printed(path)` restricted to the rows whose name field equals `name` (indexed)."""
        rows = self.tables[path].rows_named(name)
        render = self.renderers.get(path)
        if render is None:
            return rows
        hook = self.print_hooks.get(path)
        if hook is not None:
            hook()
        return [render(row) for row in rows]

    def set_identity(self, name: str) -> None:
        """`/system/identity set name=...` without the API round trip."""
        self.tables["/system/identity"].items["*0"]["name"] = name

    @property
    def identity(self) -> str:
        """The router's current identity."""
        return self.tables["/system/identity"].items["*0"]["name"]

    @property
    def empty_reply(self) -> bool:
        """RouterOS >= 7.18 answers an empty print with `!empty` before `!done`."""
        return self.version >= (7, 18)
