"""HTML forms: keep what the user typed, and put every error beside its field.

A form is validated in two steps, so nothing is written while a field is wrong: `build` runs
the API's pydantic schema (the same rules as the REST API), then `submit` runs the domain
service and turns its refusals (`InvalidInput`, `Conflict` naming a field) into field errors.
Errors that belong to no field go under `FORM_ERROR`, shown above the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, InvalidInput
from mikrosync.web.csrf import CSRF_FIELD
from mikrosync.web.templating import INPUT_DATETIME

FORM_ERROR = "__form__"
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
R = TypeVar("R")

_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def read(cls, request: Request) -> Form:
        data = await request.form()
        values = {
            key: value
            for key, value in data.multi_items()
            if isinstance(value, str) and key != CSRF_FIELD
        }
        return cls(values=values)

    def text(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def checked(self, name: str) -> bool:
        return name in self.values

    def payload(self, names: Iterable[str], *, clearable: Iterable[str] = ()) -> dict[str, Any]:
        """The filled-in fields; a blank field is left out (the schema's default applies), or
        sent as None when it is `clearable` (an edit that empties it)."""
        clear = set(clearable)
        result: dict[str, Any] = {}
        for name in names:
            value = self.text(name)
            if value is not None:
                result[name] = value
            elif name in clear:
                result[name] = None
        return result

    def local_datetime(self, name: str, tz: ZoneInfo) -> datetime | None:
        """A `datetime-local` field read in the tenant's zone; a bad value is a field error."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return datetime.strptime(value, INPUT_DATETIME).replace(tzinfo=tz)
        except ValueError:
            self.errors[name] = "enter a date and time such as 2026-01-31 18:00"
            return None

    def build(self, model: type[M], data: dict[str, Any]) -> M | None:
        """`model` validated from `data`, or None with the field errors recorded."""
        try:
            built = model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else FORM_ERROR
                self.errors.setdefault(name, _message(error["msg"], error["type"]))
            return None
        return None if self.errors else built

    async def submit(
        self, model: type[M], data: dict[str, Any], write: Callable[[M], Awaitable[T]]
    ) -> T | None:
        """Validate `data` as `model`, then run the domain write with it: its result, or None
        with every error recorded beside its field (nothing written)."""
        built = self.build(model, data)
        if built is None:
            return None
        try:
            return await write(built)
        except InvalidInput as exc:
            self.errors[exc.field] = exc.message
        except Conflict as exc:
            self.errors[getattr(exc, "field", FORM_ERROR)] = str(exc)
        return None

    def error(self, name: str) -> str | None:
        return self.errors.get(name)


async def reloaded(db: AsyncSession, row: R) -> R:
    """`row` as stored, after a refused edit: what the service set on it before refusing is
    rolled back (and reloaded now, since an expired row cannot lazy-load under asyncio)."""
    await db.rollback()
    await db.refresh(row)
    return row


# Pydantic's words for a value of the wrong shape name the library's types; say instead what
# to type (the field's own rules, the `Value error` ones, are already in the operator's words).
_BY_TYPE = {
    "decimal_parsing": "enter a number such as 19.90",
    "decimal_type": "enter a number such as 19.90",
    "decimal_max_places": "use at most 2 decimals, such as 19.90",
    "decimal_max_digits": "that number is too large",
    "int_parsing": "enter a whole number such as 30",
    "int_from_float": "enter a whole number such as 30",
    "greater_than_equal": "enter 0 or more",
}


def _message(text: str, kind: str = "") -> str:
    if text == "Field required":
        return "this field is required"
    if kind in _BY_TYPE:
        return _BY_TYPE[kind]
    for prefix in _PYDANTIC_PREFIXES:
        if text.startswith(prefix):
            return text.removeprefix(prefix)
    return text
