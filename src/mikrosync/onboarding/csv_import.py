"""CSV import of subscribers into one router: check every row, then commit the good ones.

Why two steps (`check_csv`, then `commit_rows`): every bad row must be reported, with its
line, field and reason, before anything is written, and a dry run is exactly the first step.
Rows are judged by the API's own rules (`SubscriberCreate` and `NewSubscriberChecks`, which
is `create_subscriber`'s checks with its lookups loaded once), plus duplicates within the
file. Good rows are written in chunks, each ONE transaction (`create_subscribers_bulk`), so a
failure leaves whole chunks behind, never half of one; see `commit_rows` for what happens
when the database refuses a chunk.

Nothing here pushes jobs: the caller hints the created subscribers after the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.session import SessionMaker
from mikrosync.errors import InvalidInput, MikrosyncError
from mikrosync.onboarding.problems import check_problem, validation_problems
from mikrosync.onboarding.rows import CsvRow, parse_expiry, read_csv
from mikrosync.packages.models import Package
from mikrosync.routers.service import get_router
from mikrosync.security.vault import Vault
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import SubscriberCreate
from mikrosync.subscribers.service import (
    DuplicateValue,
    NewSubscriberChecks,
    create_subscribers_bulk,
)

CHUNK_SIZE = 500
Progress = Callable[[str, int, int], None]
"""`progress(phase, done, total)`: phase is "checking" or "writing"."""


@dataclass(frozen=True)
class RowError:
    """Why one row (by its line in the file) was skipped; `field` is None for the whole row."""

    line: int
    field: str | None
    message: str


@dataclass(frozen=True)
class GoodRow:
    line: int
    data: SubscriberCreate


@dataclass
class CheckedCsv:
    """The outcome of checking a file: rows to create, and the errors of the others."""

    checks: NewSubscriberChecks
    good: list[GoodRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0


@dataclass
class ImportResult:
    """What an import did. In a dry run, `created` stays empty and `would_create` counts."""

    dry_run: bool
    created: list[Subscriber]
    would_create: int
    skipped: int
    errors: list[RowError]

    @property
    def created_count(self) -> int:
        return self.would_create if self.dry_run else len(self.created)


class ImportInterrupted(MikrosyncError):
    """The database failed mid-way. Chunks before `first_unwritten_line` are committed
    (`created`, whose jobs the caller must still push); that line and all after are not."""

    def __init__(self, created: list[Subscriber], first_unwritten_line: int, reason: str):
        super().__init__(
            f"the import stopped at line {first_unwritten_line}: {reason}. The {len(created)} "
            f"subscriber(s) of earlier lines were imported; line {first_unwritten_line} and "
            "everything after it were not (import those lines again)"
        )
        self.created = created
        self.first_unwritten_line = first_unwritten_line


class _RowChecker:
    """Turns CSV rows into checked `SubscriberCreate`s or the errors that skip them."""

    def __init__(self, checks: NewSubscriberChecks) -> None:
        self.checks = checks
        self.packages = {package.name: package for package in checks.packages.values()}
        self.first_line: dict[tuple[str, str], int] = {}

    def check(self, row: CsvRow) -> SubscriberCreate | list[RowError]:
        if row.problem is not None:
            return [RowError(row.line, None, row.problem)]
        duplicate = self._duplicate_in_file(row)
        if duplicate is not None:
            return [duplicate]
        data = self._parse(row)
        if isinstance(data, list):
            return data
        try:
            self.checks.check(data)
        except (InvalidInput, DuplicateValue) as exc:
            return [RowError(row.line, *check_problem(exc))]
        return data

    def _duplicate_in_file(self, row: CsvRow) -> RowError | None:
        """A username or static IP may appear once per file: later rows repeating one are
        skipped (the first stays, whatever its own fate)."""
        for column in ("username", "static_ip"):
            value = row.values.get(column)
            if value is None:
                continue
            first = self.first_line.setdefault((column, value), row.line)
            if first != row.line:
                return RowError(row.line, column, f"{value!r} is also on line {first} of this file")
        return None

    def _parse(self, row: CsvRow) -> SubscriberCreate | list[RowError]:
        values: dict[str, Any] = dict(row.values)
        errors: list[RowError] = []
        package = self._package(values.pop("package"))
        if isinstance(package, str):
            errors.append(RowError(row.line, "package", package))
        else:
            values["package_id"] = package.id
            values["service"] = values.get("service") or package.service
        expires_at = values.get("expires_at")
        if expires_at is not None:
            try:
                values["expires_at"] = parse_expiry(expires_at)
            except ValueError as exc:
                errors.append(RowError(row.line, "expires_at", str(exc)))
                del values["expires_at"]
        try:
            # A stand-in package_id (a valid Id) when the package is unknown: that row is
            # already refused for its package, and its other fields still get checked.
            data = SubscriberCreate.model_validate(
                {"router_id": self.checks.router_id, "package_id": 1} | values
            )
        except ValidationError as exc:
            # With no package to take it from, a blank service was already reported as such.
            unknown_service = isinstance(package, str) and not values.get("service")
            errors.extend(
                RowError(row.line, field, message)
                for field, message in validation_problems(exc)
                if not (unknown_service and field == "service")
            )
            return errors
        return errors or data

    def _package(self, name: str | None) -> Package | str:
        if name is None:
            return "a package name is required"
        package = self.packages.get(name)
        if package is None:
            return f"there is no package named {name!r}"
        return package


async def check_csv(
    session: AsyncSession,
    *,
    tenant_id: int,
    router_id: int,
    text: str,
    progress: Progress | None = None,
) -> CheckedCsv:
    """Read and check a whole file against the tenant's packages and the router's
    subscribers; writes nothing. Raises CsvFileError (bad file) or NotFound (router)."""
    await get_router(session, tenant_id=tenant_id, router_id=router_id)
    csv_file = read_csv(text)
    checks = await NewSubscriberChecks.load(session, tenant_id=tenant_id, router_id=router_id)
    checker = _RowChecker(checks)
    checked = CheckedCsv(checks)
    total = len(csv_file.rows)
    for done, row in enumerate(csv_file.rows, start=1):
        outcome = checker.check(row)
        if isinstance(outcome, list):
            checked.errors.extend(outcome)
            checked.skipped += 1
        else:
            checked.good.append(GoodRow(row.line, outcome))
        if done % 100 == 0 or done == total:
            if progress is not None:
                progress("checking", done, total)
            # Checking 10,000 rows is CPU work: let the API serve other requests meanwhile.
            await asyncio.sleep(0)
    return checked


async def commit_rows(
    sessionmaker: SessionMaker,
    checked: CheckedCsv,
    *,
    vault: Vault,
    actor: str,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> ImportResult:
    """Create the good rows, `chunk_size` per transaction (each in a session of its own, so a
    refused chunk cannot expire the rows committed before it).

    When the database refuses a chunk (another writer took one of its usernames meanwhile),
    the chunk is retried row by row, so only the refused rows are skipped, each reported
    with its line. Any other database failure stops the import with ImportInterrupted,
    which says which lines were written.
    """
    writer = _Writer(sessionmaker, checked, vault, actor)
    good = checked.good
    for start in range(0, len(good), chunk_size):
        await writer.write(good[start : start + chunk_size])
        if progress is not None:
            progress("writing", min(start + chunk_size, len(good)), len(good))
    return ImportResult(False, writer.created, len(writer.created), writer.skipped, writer.errors)


class _Writer:
    def __init__(
        self, sessionmaker: SessionMaker, checked: CheckedCsv, vault: Vault, actor: str
    ) -> None:
        self.sessionmaker = sessionmaker
        self.checks = checked.checks
        self.vault = vault
        self.actor = actor
        self.created: list[Subscriber] = []
        self.errors = list(checked.errors)
        self.skipped = checked.skipped

    async def write(self, chunk: Sequence[GoodRow]) -> None:
        try:
            await self._create(chunk)
        except IntegrityError:
            for row in chunk:
                try:
                    await self._create([row])
                except IntegrityError as exc:
                    self.errors.append(RowError(row.line, None, _refused(exc)))
                    self.skipped += 1

    async def _create(self, rows: Sequence[GoodRow]) -> None:
        try:
            async with self.sessionmaker() as session:
                created = await create_subscribers_bulk(
                    session,
                    checks=self.checks,
                    rows=[row.data for row in rows],
                    vault=self.vault,
                    actor=self.actor,
                )
        except IntegrityError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise ImportInterrupted(self.created, rows[0].line, _first_line(exc)) from exc
        self.created.extend(created)


def _refused(exc: IntegrityError) -> str:
    return (
        "not imported: the database refused the row, most likely because its username was "
        f"created meanwhile ({_first_line(exc.orig or exc)})"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def import_csv(
    sessionmaker: SessionMaker,
    *,
    tenant_id: int,
    router_id: int,
    text: str,
    vault: Vault,
    actor: str,
    dry_run: bool = False,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the file, then (unless `dry_run`) create its good rows. The caller pushes the
    jobs of `result.created` (also of `ImportInterrupted.created`) after this returns."""
    async with sessionmaker() as session:
        checked = await check_csv(
            session, tenant_id=tenant_id, router_id=router_id, text=text, progress=progress
        )
    if dry_run:
        return ImportResult(True, [], len(checked.good), checked.skipped, checked.errors)
    return await commit_rows(
        sessionmaker, checked, vault=vault, actor=actor, chunk_size=chunk_size, progress=progress
    )
