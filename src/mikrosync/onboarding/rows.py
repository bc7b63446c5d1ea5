"""Reading an import CSV into rows of named text values, each with the line it starts on.

Only the file's shape is judged here (encoding, header, number of values per row); what a
value means is judged by the subscriber checks the API uses, in `csv_import.py`. A shape
problem of the whole file (no header, unknown columns) stops the import before any row is
read; a row with the wrong number of values is one bad row among the others.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from mikrosync.errors import MikrosyncError

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = (
    "username",
    "password",
    "service",
    "package",
    "remote_address",
    "static_ip",
    "full_name",
    "phone",
    "email",
    "address",
    "expires_at",
)
REQUIRED = ("username", "package")
_HINT = "username,password,package"
# A spreadsheet saved "as CSV" in many locales separates with ';'; tabs come from copy-paste.
_DELIMITERS = (",", ";", "\t")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_END_OF_DAY = time(23, 59, 59, tzinfo=UTC)


class CsvFileError(MikrosyncError):
    """The file as a whole cannot be imported (not text, empty, bad header); no row was read."""


@dataclass(frozen=True)
class CsvRow:
    """One data row: `values` maps each header column to its stripped text, blank as None.

    `problem` is set instead when the row cannot be read as the header's columns.
    """

    line: int
    values: dict[str, str | None]
    problem: str | None = None


@dataclass(frozen=True)
class CsvFile:
    columns: tuple[str, ...]
    rows: list[CsvRow]


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark, as Excel writes, is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"the file is not UTF-8 text (byte {exc.start} cannot be decoded); save it as CSV UTF-8"
        ) from None


def read_csv(text: str) -> CsvFile:
    """The header, checked, and every non-blank data row."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise CsvFileError("the file is empty; the first line must be a header such as " + _HINT)
    if "\x00" in text:
        raise CsvFileError("the file is not CSV text (it contains NUL bytes)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        columns = _header(next(reader))
        rows = _rows(reader, columns)
    except csv.Error as exc:
        raise CsvFileError(f"line {reader.line_num}: the file is not valid CSV ({exc})") from None
    return CsvFile(columns, rows)


def _delimiter(text: str) -> str:
    first_line = text.lstrip().splitlines()[0]
    counts = Counter(char for char in first_line if char in _DELIMITERS)
    return counts.most_common(1)[0][0] if counts else ","


def _header(cells: list[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower().replace(" ", "_").replace("-", "_") for cell in cells)
    unknown = [name or "(blank)" for name in columns if name not in COLUMNS]
    if unknown:
        raise CsvFileError(
            f"line 1: unknown column(s) {', '.join(unknown)}; the columns are "
            f"{', '.join(COLUMNS)} (a header line is required)"
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise CsvFileError(f"line 1: column(s) given twice: {', '.join(repeated)}")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise CsvFileError(f"line 1: the header lacks the column(s) {', '.join(missing)}")
    return columns


def _rows(reader: Reader, columns: tuple[str, ...]) -> list[CsvRow]:
    rows: list[CsvRow] = []
    end_of_previous = reader.line_num
    for cells in reader:
        line, end_of_previous = end_of_previous + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            problem = (
                f"the row has {len(cells)} value(s) but the header has {len(columns)} "
                f"column(s) ({', '.join(columns)})"
            )
            rows.append(CsvRow(line, {}, problem))
            continue
        values = {name: cell.strip() or None for name, cell in zip(columns, cells, strict=True)}
        rows.append(CsvRow(line, values))
    return rows


def parse_expiry(value: str) -> datetime:
    """`YYYY-MM-DD` (the end of that day, 23:59:59 UTC) or an ISO 8601 time with an offset."""
    if _DATE.fullmatch(value):
        try:
            return datetime.combine(date.fromisoformat(value), _END_OF_DAY)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time with an offset "
            "(2025-07-01T18:00:00+02:00)"
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(
            f"{value!r} has no UTC offset; add one (e.g. +00:00 or Z) or give only the date"
        )
    return parsed
