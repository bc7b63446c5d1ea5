"""What every request shares, whatever carries it (path, query, JSON body, form):

- `Id`: an object id, bounded to the range of the database's INTEGER columns (1 to 2**31 - 1,
  PostgreSQL's), so an id past it is a 422 naming the parameter, never a driver error;
  `Page`, a page number, bounded likewise.
- `RequestModel`: the base of every request body and query model. It refuses a NUL character
  in any text value, nested ones included (PostgreSQL cannot store it; RouterOS words are not
  meant to carry it): a 422 naming the field.
- `refuse_nul`: the same check for values that come in outside a model (the login forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import annotated_types
from pydantic import BaseModel, field_validator

from mikrosync.errors import InvalidInput

MAX_ID = 2**31 - 1
"""The largest value of PostgreSQL's INTEGER (SQLite's is larger); every id column is one."""

Id = Annotated[int, annotated_types.Interval(ge=1, le=MAX_ID)]
"""An object id as a request may name it (path, query or body)."""

Page = Annotated[int, annotated_types.Interval(ge=1, le=MAX_ID)]
"""A page number: bounded so that (page - 1) * per_page, the OFFSET, stays far inside the
databases' 64-bit range (an unbounded page reached the driver: a 500, found by the fuzzer)."""

NUL_MESSAGE = "must not contain a NUL character (\\x00)"


def has_nul(value: object) -> bool:
    """True if `value`, or any text inside it (lists, dicts, keys too), holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_nul(item) for item in value)
    return False


def refuse_nul(field: str, value: str | None) -> None:
    """InvalidInput (a 422 naming `field`) if `value` holds a NUL character."""
    if value is not None and has_nul(value):
        raise InvalidInput(field, f"{field} {NUL_MESSAGE}")


class RequestModel(BaseModel):
    """Base of the request models: no NUL character in any text value of any field."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value
