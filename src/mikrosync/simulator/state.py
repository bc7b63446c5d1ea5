"""Router state as JSON, and seeding with users that belong to nobody.

A dump holds every table's items and its next id, plus the identity, so a router can start
with thousands of secrets (some "not ours": no owner tag in the comment) and write back what
changed when the CLI stops. Sessions are runtime state: active tables are not dumped.
"""

from __future__ import annotations

from typing import Any

from mikrosync.simulator.live import KINDS
from mikrosync.simulator.store import Store

__all__ = ["FORMAT", "dump_state", "load_state", "seed_secrets"]

FORMAT = "mikrosync-simulator/1"
RUNTIME_MENUS = frozenset({spec.active for spec in KINDS.values()} | {"/system/resource"})
SEED_COMMENTS = (None, "manual entry", "legacy customer", None, "added by technician")


def dump_state(store: Store) -> dict[str, Any]:
    """A JSON-serialisable snapshot of the configuration tables."""
    tables = {
        path: {"next_id": table.next_id, "items": list(table.items.values())}
        for path, table in store.tables.items()
        if path not in RUNTIME_MENUS
    }
    return {"format": FORMAT, "version": store.version_text, "tables": tables}


def load_state(store: Store, data: dict[str, Any]) -> None:
    """Replace the tables with a dump's content (unknown menus are an error, not ignored)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a simulator state dump (format {data.get('format')!r})")
    store.reset()
    for path, content in data["tables"].items():
        if path not in store.tables:
            raise ValueError(f"state names an unknown menu {path!r}")
        table = store.table(path)
        table.items = {
            str(item[".id"]): {str(k): str(v) for k, v in item.items()} for item in content["items"]
        }
        table.next_id = max(int(content["next_id"]), table.spec.first_id)


def seed_secrets(store: Store, n: int, prefix: str = "seed") -> list[str]:
    """Add up to `n` PPP secrets owned by nobody; names are stable, so re-seeding is a no-op."""
    table = store.table("/ppp/secret")
    ids = []
    for i in range(1, n + 1):
        name = f"{prefix}{i:05d}"
        if table.find_by_name(name) is not None:
            continue
        values = {"name": name, "password": f"pw{i:05d}", "service": "pppoe"}
        comment = SEED_COMMENTS[i % len(SEED_COMMENTS)]
        if comment:
            values["comment"] = comment
        ids.append(table.add(values))
    return ids
