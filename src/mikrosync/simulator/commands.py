"""Command execution: maps `/menu/verb` to table operations and fills the reply.

Called by `connection.py` for every logged-in command that no fault intercepted. Implements
`print`/`getall` (with `.proplist`, `count-only`, `from` and queries), `add`, `set`, `remove`,
`enable`, `disable`, `unset`, `comment`, `move`, plus `/quit` and `/cancel`. Errors are raised
as `TrapError`/`Fatal` and rendered by the connection.
"""

from __future__ import annotations

from collections.abc import Callable

from mikrosync.simulator.errors import Fatal, missing_required, unknown_command, unknown_parameter
from mikrosync.simulator.menus import MENUS
from mikrosync.simulator.protocol import Reply, Request
from mikrosync.simulator.query import compile_query
from mikrosync.simulator.store import Store
from mikrosync.simulator.tables import MenuSpec, Row
from mikrosync.simulator.values import FALSE_WORDS, TRUE_WORDS

__all__ = ["execute", "split_command"]

PRINT_FLAGS = frozenset({"detail", "stats", "without-paging", "terse", "brief", "value-list"})
TARGET_KEYS = (".id", "numbers")

_PREFIXES = frozenset(
    "/" + "/".join(path.strip("/").split("/")[: i + 1])
    for path in MENUS
    for i in range(path.count("/"))
)


def split_command(command: str) -> tuple[MenuSpec, str]:
    """Find the menu and verb of a command word, or raise the unknown-path MultiTrap."""
    segments = command.strip("/").split("/")
    menu_path, verb = "/" + "/".join(segments[:-1]), segments[-1]
    spec = MENUS.get(menu_path)
    if spec is not None:
        if verb not in spec.verbs:
            raise unknown_command(verb)
        return spec, verb
    for i, segment in enumerate(segments):
        if "/" + "/".join(segments[: i + 1]) not in _PREFIXES:
            raise unknown_command(segment)
    raise unknown_command(verb)


def _targets(store: Store, spec: MenuSpec, attributes: Row) -> list[str]:
    """Resolve `.id`/`numbers` (ids or names, comma lists); singletons need none."""
    table = store.table(spec.path)
    if spec.singleton:
        return list(table.items)
    ref = next((attributes.pop(k) for k in TARGET_KEYS if k in attributes), None)
    if ref is None:
        raise missing_required("numbers")
    return table.resolve(ref)


def _reject_extra(attributes: Row) -> None:
    """Verbs without free properties refuse any attribute left after the targets."""
    for name in attributes:
        raise unknown_parameter(name)


def _name_wanted(spec: MenuSpec, queries: list[str]) -> str | None:
    """The name of a lone `?=name=x` / `?name=x` query that the name index answers exactly.

    Only plain text qualifies: the query language compares numbers as numbers and yes/no as
    booleans (`?name=007` matches `7`), and an empty value matches items without the property.
    """
    if spec.name_field is None or spec.singleton or len(queries) != 1:
        return None
    word = queries[0]
    if word.startswith("="):
        word = word[1:]
    elif word[:1] in ("#", "<", ">", "-"):
        return None
    field, equals, value = word.partition("=")
    if not equals or field != spec.name_field or not value:
        return None
    if value.lower() in TRUE_WORDS or value.lower() in FALSE_WORDS:
        return None
    try:
        int(value, 10)
    except ValueError:
        return value
    return None


def _print(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    attributes = dict(request.attributes)
    proplist = attributes.pop(".proplist", None)
    count_only = attributes.pop("count-only", None) is not None
    wanted_ids = attributes.pop("from", None)
    for name in attributes:
        if name not in PRINT_FLAGS:
            raise unknown_parameter(name)
    wanted_name = _name_wanted(spec, request.queries) if wanted_ids is None else None
    if wanted_name is not None:
        # One item by name: the index answers what the scan below would (same rows, order).
        rows = store.printed_named(spec.path, wanted_name)
    else:
        rows = store.printed(spec.path)
        if wanted_ids is not None:
            ids = set(store.table(spec.path).resolve(wanted_ids))
            rows = [row for row in rows if row.get(".id") in ids]
        matches = compile_query(request.queries)
        rows = [row for row in rows if matches(row)]
    if count_only:
        reply.done(str(len(rows)))
        return
    if proplist is not None:
        keep = proplist.split(",")
        rows = [{k: row[k] for k in keep if k in row} for row in rows]
    for row in rows:
        reply.row(row)
    if not rows and store.empty_reply:
        reply.empty()
    reply.done()


def _add(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    reply.done(store.add(spec.path, dict(request.attributes)))


def _set(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    attributes = dict(request.attributes)
    ids = _targets(store, spec, attributes)
    store.table(spec.path).update(ids, attributes)
    reply.done()


def _remove(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    attributes = dict(request.attributes)
    ids = _targets(store, spec, attributes)
    _reject_extra(attributes)
    store.remove(spec.path, ids)
    reply.done()


def _toggle(disabled: str) -> Callable[[Store, MenuSpec, Request, Reply], None]:
    def handler(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
        attributes = dict(request.attributes)
        ids = _targets(store, spec, attributes)
        _reject_extra(attributes)
        store.table(spec.path).update(ids, {"disabled": disabled})
        reply.done()

    return handler


def _unset(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    attributes = dict(request.attributes)
    ids = _targets(store, spec, attributes)
    names = attributes.pop("value-name", "")
    _reject_extra(attributes)
    store.table(spec.path).unset(ids, [n for n in names.split(",") if n])
    reply.done()


def _comment(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    attributes = dict(request.attributes)
    ids = _targets(store, spec, attributes)
    store.table(spec.path).update(ids, {"comment": attributes.pop("comment", "")})
    _reject_extra(attributes)
    reply.done()


def _move(store: Store, spec: MenuSpec, request: Request, reply: Reply) -> None:
    """`move numbers=X [destination=Y]`: X goes before Y (or to the end)."""
    attributes = dict(request.attributes)
    ids = _targets(store, spec, attributes)
    table = store.table(spec.path)
    destination = attributes.pop("destination", None)
    before = table.resolve(destination)[0] if destination else None
    moving = {i: table.items.pop(i) for i in ids}
    order = list(table.items.items())
    cut = next((n for n, (i, _) in enumerate(order) if i == before), len(order))
    table.items = dict(order[:cut] + list(moving.items()) + order[cut:])
    reply.done()


Handler = Callable[[Store, MenuSpec, Request, Reply], None]
VERBS: dict[str, Handler] = {
    "print": _print,
    "getall": _print,
    "add": _add,
    "set": _set,
    "remove": _remove,
    "enable": _toggle("false"),
    "disable": _toggle("true"),
    "unset": _unset,
    "comment": _comment,
    "move": _move,
}


def execute(store: Store, request: Request, reply: Reply) -> None:
    """Run one logged-in command; raises `TrapError` or `Fatal` for the connection to render."""
    if request.command == "/quit":
        raise Fatal("session terminated on request")
    if request.command == "/cancel":
        reply.done()  # nothing ever runs in the background, so there is nothing to cancel
        return
    spec, verb = split_command(request.command)
    VERBS[verb](store, spec, request, reply)
