"""The generic table engine: one `Table` per menu, driven by a declarative `MenuSpec`.

Handles what every RouterOS list menu shares: `*HEX` ids allocated monotonically (never reused
within a run), settable vs read-only fields, defaults, uniqueness keys, references to other
menus, item lookup by id or name with comma lists, and printing with unset properties omitted.
Menus themselves are declared in `menus.py`; commands live in `commands.py`.

Lookups by name and uniqueness checks go through an index (value -> ids in insertion order)
on the name field and on the last field of each uniqueness key, so they cost O(1) instead of
a scan of the menu, as on a router. The index follows every change made through `Table`; a
new `items` dict (load, `move`) rebuilds it on the next lookup. Code outside `Table` may
change a row's other properties in place, but not an indexed one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mikrosync.simulator.errors import (
    builtin_not_removable,
    duplicate,
    missing_required,
    no_such_item,
    not_matching,
    unknown_parameter,
)
from mikrosync.simulator.values import Kind, normalise

__all__ = ["FieldSpec", "MenuSpec", "Row", "Table"]

Row = dict[str, str]


@dataclass(frozen=True)
class FieldSpec:
    """One property of a menu item."""

    name: str
    kind: Kind = Kind.TEXT
    default: str | None = None
    """Printed when never set; None means the property is omitted from print until set."""
    settable: bool = True
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None
    """For `Kind.REF`: the menu whose item names are valid values."""


@dataclass(frozen=True)
class MenuSpec:
    """What makes one menu different from the others."""

    path: str
    fields: tuple[FieldSpec, ...]
    verbs: frozenset[str]
    unique: tuple[tuple[str, ...], ...] = ()
    duplicate_message: str = "failure: already have such entry"
    singleton: bool = False
    name_field: str | None = "name"
    """Items may be addressed by this field's value instead of `.id` (§6.3)."""
    first_id: int = 1
    builtins: tuple[Row, ...] = ()
    """Items present from the start, each with its fixed `.id`."""
    removable_builtins: bool = False

    def field(self, name: str) -> FieldSpec | None:
        """The spec of `name`, or None when the menu has no such property."""
        return next((f for f in self.fields if f.name == name), None)


RefCheck = Callable[[str, str], bool]
"""(menu path, item name) -> whether such an item exists; supplied by the router state."""


Index = dict[str | None, list[str]]
"""Value of one field (None: the item lacks it) -> ids of the items with it, in items' order."""


@dataclass
class Table:
    """Items of one menu in insertion order (RouterOS prints in creation order)."""

    spec: MenuSpec
    ref_exists: RefCheck
    items: dict[str, Row] = field(default_factory=dict)
    next_id: int = 0
    _indexes: dict[str, Index] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indexed: dict[str, Row] | None = field(default=None, init=False, repr=False, compare=False)
    """The `items` dict the indexes describe; another one (or None) means rebuild them."""

    def __post_init__(self) -> None:
        self.next_id = max(self.next_id, self.spec.first_id)
        for builtin in self.spec.builtins:
            self.items[builtin[".id"]] = self._with_defaults(dict(builtin))
        fields = {key[-1] for key in self.spec.unique}
        if self.spec.name_field is not None:
            fields.add(self.spec.name_field)
        self._index_fields = tuple(sorted(fields))

    # -- indexes ------------------------------------------------------------------------------

    def _index(self, name: str) -> Index:
        """The index of field `name` (one of `_index_fields`), rebuilt when stale."""
        if self._indexed is not self.items:
            self._rebuild()
        return self._indexes[name]

    def _rebuild(self) -> None:
        self._indexes = {name: {} for name in self._index_fields}
        for item_id, row in self.items.items():
            self._index_row(item_id, row)
        self._indexed = self.items

    def _invalidate(self) -> None:
        self._indexed = None

    def _index_row(self, item_id: str, row: Row) -> None:
        for name, index in self._indexes.items():
            index.setdefault(row.get(name), []).append(item_id)

    def _unindex_row(self, item_id: str, row: Row) -> None:
        for name, index in self._indexes.items():
            ids = index.get(row.get(name))
            if ids is not None and item_id in ids:
                ids.remove(item_id)
                if not ids:
                    del index[row.get(name)]

    def ids_with(self, name: str, value: str) -> list[str]:
        """Ids of the items whose field `name` (an indexed one) equals `value`, in order."""
        ids = self._index(name).get(value, [])
        if any(self.items.get(i, {}).get(name) != value for i in ids):
            self._rebuild()  # a row changed behind the table's back: trust the rows
            ids = self._indexes[name].get(value, [])
        return list(ids)

    def _with_defaults(self, row: Row) -> Row:
        for spec in self.spec.fields:
            if spec.default is not None:
                row.setdefault(spec.name, spec.default)
        return row

    def _allocate_id(self) -> str:
        item_id = f"*{self.next_id:X}"
        self.next_id += 1
        return item_id

    # -- validation ---------------------------------------------------------------------------

    def validate(self, values: Row, *, trusted: bool = False) -> Row:
        """Check names, kinds and references; `trusted` (a technician) may write read-only ones."""
        clean: Row = {}
        for name, value in values.items():
            spec = self.spec.field(name)
            if spec is None or not (spec.settable or trusted):
                raise unknown_parameter(name)
            if spec.kind is Kind.REF:
                assert spec.ref is not None
                if not self.ref_exists(spec.ref, value):
                    raise not_matching(name)
                clean[name] = value
            else:
                clean[name] = normalise(spec.kind, name, value, spec.choices)
        return clean

    def _check_unique(self, row: Row, skip: str | None = None) -> None:
        for key in self.spec.unique:
            wanted = tuple(row.get(k) for k in key)
            for item_id in self._index(key[-1]).get(row.get(key[-1]), ()):
                other = self.items[item_id]
                if item_id != skip and tuple(other.get(k) for k in key) == wanted:
                    raise duplicate(self.spec.duplicate_message)

    # -- lookup -------------------------------------------------------------------------------

    def find_by_name(self, name: str) -> str | None:
        """The id of the item whose name field equals `name`."""
        key = self.spec.name_field
        if key is None:
            return None
        ids = self.ids_with(key, name)
        return ids[0] if ids else None

    def resolve(self, ref: str) -> list[str]:
        """Ids for a comma list of ids or names; any unknown one fails the whole command."""
        ids: list[str] = []
        for part in ref.split(","):
            item_id = part if part in self.items else self.find_by_name(part)
            if item_id is None:
                raise no_such_item()
            ids.append(item_id)
        return ids

    # -- mutations ----------------------------------------------------------------------------

    def add(self, values: Row, *, trusted: bool = False) -> str:
        """Create an item and return its new `.id`."""
        clean = self.validate(values, trusted=trusted)
        for spec in self.spec.fields:
            if spec.required and not clean.get(spec.name):
                raise missing_required(spec.name)
        row = self._with_defaults(clean)
        self._check_unique(row)
        item_id = self._allocate_id()
        self.items[item_id] = stored = {".id": item_id, **row}
        if self._indexed is self.items:
            self._index_row(item_id, stored)
        return item_id

    def update(self, ids: Iterable[str], values: Row, *, trusted: bool = False) -> None:
        """`set`: validate everything first so a failing item changes nothing."""
        clean = self.validate(values, trusted=trusted)
        ids = list(ids)
        for item_id in ids:
            self._check_unique({**self.items[item_id], **clean}, skip=item_id)
        for item_id in ids:
            row = self.items[item_id]
            if any(row.get(k) != clean[k] for k in self._index_fields if k in clean):
                self._invalidate()  # a rename: rebuilt on the next lookup, order kept
            row.update(clean)

    def unset(self, ids: Iterable[str], names: Iterable[str]) -> None:
        """`unset`: drop the values (defaults come back, optional ones disappear)."""
        names = list(names)
        for name in names:
            spec = self.spec.field(name)
            if spec is None or not spec.settable:
                raise unknown_parameter(name)
        if any(name in self._index_fields for name in names):
            self._invalidate()
        for item_id in ids:
            row = self.items[item_id]
            for name in names:
                row.pop(name, None)
            self._with_defaults(row)

    def remove(self, ids: Iterable[str]) -> list[Row]:
        """Delete items; built-ins are protected. Returns the removed rows."""
        ids = list(ids)
        builtin_ids = {b[".id"] for b in self.spec.builtins}
        if not self.spec.removable_builtins and builtin_ids.intersection(ids):
            raise builtin_not_removable()
        removed = [self.items.pop(item_id) for item_id in ids]
        if self._indexed is self.items:
            for row in removed:
                self._unindex_row(row[".id"], row)
        return removed

    # -- reading ------------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        """Copies of every item as stored (with `.id`, without it for singletons)."""
        if self.spec.singleton:
            return [{k: v for k, v in row.items() if k != ".id"} for row in self.items.values()]
        return [dict(row) for row in self.items.values()]

    def rows_named(self, name: str) -> list[Row]:
        """Copies of the items whose name field equals `name` (a list menu with a name field)."""
        assert self.spec.name_field is not None and not self.spec.singleton
        return [dict(self.items[i]) for i in self.ids_with(self.spec.name_field, name)]
