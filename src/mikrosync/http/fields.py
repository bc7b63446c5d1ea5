"""What every request shares, whatever carries it (path, query, JSON body, form):

- `Id`: an object id, bounded to the range of the database's INTEGER columns (1 to 2**31 - 1,
  PostgreSQL's), so an id past it is a 422 naming the parameter, never a driver error;
  `Page`, a page number, bounded likewise.
- `RequestModel`: the base of every request body and query model. It refuses a NUL character
  in any text value, nested ones included (PostgreSQL cannot store it; RouterOS words are not
  meant to carry it): a 422 naming the field.
  It also refuses the lax coercions pydantic would otherwise make, so that what the API
  accepts is what its OpenAPI schema says: a boolean field takes only true/false (not 0, 1 or
  "yes"), an integer field no boolean, a date or time field no number (not even as a string:
  `0` would be 1970-01-01). A query model (`from_query = True`) takes its values as the strings
  a query string has, so it keeps the string forms of booleans and numbers.
- `refuse_nul`: the same check for values that come in outside a model (the login forms).
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union, cast, get_args, get_origin

import annotated_types
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    FutureDatetime,
    GetJsonSchemaHandler,
    NaiveDatetime,
    PastDatetime,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mikrosync.errors import InvalidInput

MAX_ID = 2**31 - 1
"""The largest value of PostgreSQL's INTEGER (SQLite's is larger); every id column is one."""

Id = Annotated[int, annotated_types.Interval(ge=1, le=MAX_ID)]
"""An object id as a request may name it (path, query or body)."""

Page = Annotated[int, annotated_types.Interval(ge=1, le=MAX_ID)]
"""A page number: bounded so that (page - 1) * per_page, the OFFSET, stays far inside the
databases' 64-bit range (an unbounded page reached the driver: a 500, found by the fuzzer)."""

_PRICE_TEXT = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")
MAX_PRICE = Decimal("9999999999.99")


def _price_as_written(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number such as 250 or 99.50, not true or false")
    if isinstance(value, str) and not _PRICE_TEXT.fullmatch(value):
        raise ValueError("write the price as digits with at most two decimals, such as 19.90")
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_price_as_written),
    annotated_types.Interval(ge=0, le=MAX_PRICE),
    Field(max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 9999999999.99, "multipleOf": 0.01},
                {"type": "string", "pattern": f"^{_PRICE_TEXT.pattern}$"},
            ]
        }
    ),
]
"""A price: zero or more, at most two decimals, as a JSON number or a string of digits."""


def required_in_schema(*names: str) -> Callable[[dict[str, Any]], None]:
    """A `json_schema_extra` that states fields as required and not null, for a model whose
    fields stay optional in Python because the route checks them after the tenant's ids
    (another tenant's object is a 404 whatever the body)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})
        for name in names:
            field = schema["properties"][name]
            if "anyOf" in field:
                field["anyOf"] = [s for s in field["anyOf"] if s.get("type") != "null"]
                if len(field["anyOf"]) == 1:
                    field.update(field.pop("anyOf")[0])
            field.pop("default", None)

    return extra


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


_TIMES = frozenset({datetime, date, AwareDatetime, NaiveDatetime, FutureDatetime, PastDatetime})
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


@cache
def _kinds(annotation: Any) -> frozenset[Any]:
    """The plain types a field's annotation admits (Annotated, unions and Optional unwrapped)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return frozenset().union(*(_kinds(arg) for arg in get_args(annotation)))
    if origin is Literal:
        return frozenset(type(arg) for arg in get_args(annotation))
    return frozenset({origin or annotation})


def strict_problem(kinds: frozenset[Any], value: Any, *, from_query: bool) -> str | None:
    """Why `value` must not be coerced into a field of these types, if it must not."""
    if value is None:
        return None
    if bool in kinds and not kinds & {int, str}:
        if not isinstance(value, bool) and not (from_query and isinstance(value, str)):
            return "must be true or false"
    elif int in kinds and bool not in kinds and isinstance(value, bool):
        return "must be a number, not true or false"
    a_number = isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value) is not None
    )
    if kinds & _TIMES and not kinds & {int, float, str} and a_number:
        return "must be an ISO 8601 date (and time), such as 2026-01-31T18:00:00Z, not a number"
    return None


NO_NUL_PATTERN = "^[^\\x00]*$"
"""JSON schema's way of saying NUL_MESSAGE, for text fields without a pattern of their own."""
_TEXT_KEYWORDS = frozenset({"pattern", "enum", "const", "format"})


def _state_no_nul(schema: Any) -> None:
    """Give every plain text field of a JSON schema NO_NUL_PATTERN (nested ones too)."""
    if isinstance(schema, list):
        for item in schema:
            _state_no_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not _TEXT_KEYWORDS & schema.keys():
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("properties", "patternProperties"):
        for value in schema.get(key, {}).values():
            _state_no_nul(value)
    for key in ("anyOf", "oneOf", "allOf", "items", "prefixItems", "additionalProperties"):
        if key in schema:
            _state_no_nul(schema[key])


class RequestModel(BaseModel):
    """Base of the request models: no NUL character in any text value of any field, and no
    lax coercion of a value into a type the schema does not give it (see the module doc)."""

    from_query: ClassVar[bool] = False
    """True for a model read from the query string, where every value is a string."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        _state_no_nul(handler.resolve_ref_schema(schema))
        return schema

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        if has_nul(value):
            raise ValueError(NUL_MESSAGE)
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            problem = strict_problem(
                _kinds(cast(Any, field.annotation)), value, from_query=cls.from_query
            )
            if problem is not None:
                raise ValueError(problem)
        return value
