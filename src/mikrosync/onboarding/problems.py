"""How a rejected row or login is described: by field, in the words the API would use.

Both imports judge their input with the API's rules (`SubscriberCreate`, then the checks of
`create_subscriber`), so both turn the same two kinds of failure into (field, reason) pairs.
"""

from __future__ import annotations

from pydantic import ValidationError

from mikrosync.errors import InvalidInput
from mikrosync.subscribers.service import DuplicateValue

Problem = tuple[str | None, str]
"""(field, reason); field None means the row as a whole."""

# Reported under the CSV's column names, not the API's ids.
_COLUMN_OF = {"package_id": "package", "router_id": "router"}


def column(field: str | None) -> str | None:
    return _COLUMN_OF.get(field, field) if field is not None else None


def validation_problems(exc: ValidationError) -> list[Problem]:
    """One (field, reason) per pydantic error, without pydantic's "Value error, " prefix."""
    return [
        (
            column(str(error["loc"][0]) if error["loc"] else None),
            error["msg"].removeprefix("Value error, "),
        )
        for error in exc.errors()
    ]


def check_problem(exc: InvalidInput | DuplicateValue) -> Problem:
    """The (field, reason) of a failed `NewSubscriberChecks.check`."""
    return column(exc.field), str(exc)
