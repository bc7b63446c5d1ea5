"""CSV import service on both databases: every bad row reported, good rows committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mikrosync.db.session import make_engine, make_sessionmaker
from mikrosync.errors import NotFound
from mikrosync.onboarding.csv_import import ImportInterrupted, check_csv, commit_rows, import_csv
from mikrosync.onboarding.rows import CsvFileError, parse_expiry, read_csv
from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber, SyncEvent
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import Staff, TenantFactory

HEADER = "username,password,service,package,remote_address,static_ip,expires_at"


@dataclass
class Site:
    """A tenant with one router and a package per service, named Home, Hot and Fixed."""

    client: httpx.AsyncClient
    owner: Staff
    runtime: Runtime
    router: dict[str, Any]
    packages: dict[str, dict[str, Any]]

    async def run(self, text: str, **options: Any) -> Any:
        return await import_csv(
            self.runtime.sessionmaker,
            tenant_id=self.owner.tenant_id or 0,
            router_id=self.router["id"],
            text=text,
            vault=self.runtime.vault,
            actor=self.owner.email,
            **options,
        )

    async def rows(self) -> dict[str, Subscriber]:
        async with self.runtime.sessionmaker() as session:
            query = select(Subscriber).where(Subscriber.router_id == self.router["id"])
            return {s.username: s for s in (await session.scalars(query)).all()}

    async def events(self, subscriber_id: int) -> list[tuple[str, str, int | None, str | None]]:
        async with self.runtime.sessionmaker() as session:
            query = select(SyncEvent).where(SyncEvent.subscriber_id == subscriber_id)
            return [
                (e.operation, e.outcome, e.desired_version, e.actor)
                for e in (await session.scalars(query)).all()
            ]


@pytest.fixture
async def site(client: httpx.AsyncClient, owner: Staff, runtime: Runtime) -> Site:
    router = await make_router(client, owner)
    packages = {
        "pppoe": await make_package(client, owner, name="Home", service="pppoe"),
        "hotspot": await make_package(client, owner, name="Hot", service="hotspot"),
        "static": await make_package(client, owner, name="Fixed", service="static"),
    }
    return Site(client, owner, runtime, router, packages)


MIXED = f"""{HEADER}
alice,Pw-alice1,,Home,10.0.0.5,,2030-01-31
bad user,Pw-x1,,Home,,,
bob,Pw-bob1,,Nope,,,
carol,Pw-carol1,hotspot,Home,,,
dave,Pw-dave1,,Home,10.0.0.999,,
alice,Pw-again1,,Home,,,
taken,Pw-taken1,,Home,,,
erin,Pw-erin1,,Home,,,2030-13-01
frank,Pw-frank1,,Home
gina,Pw-gina1,hotspot,Hot,,,2030-02-01T10:00:00+02:00
hank,,static,Fixed,,10.1.1.1,
ivan,Pw-ivan1,,Home,,,2030-01-01T10:00:00
judy,,,Home,,,
"""
EXPECTED_ERRORS = {
    (3, "username"): "printable ASCII",
    (4, "package"): "no package named 'Nope'",
    (5, "package"): "is for pppoe subscribers, not hotspot",
    (6, "remote_address"): "not an IPv4 address",
    (7, "username"): "also on line 2",
    (8, "username"): "already used on this router",
    (9, "expires_at"): "not a calendar date",
    (10, None): "the row has 4 value(s) but the header has 7",
    (13, "expires_at"): "has no UTC offset",
    (14, "password"): "needs a password",
}


async def test_bad_rows_are_reported_and_good_rows_created_pending(site: Site) -> None:
    await make_subscriber(site.client, site.owner, router_id=site.router["id"], username="taken")
    result = await site.run(MIXED)
    got = {(e.line, e.field): e.message for e in result.errors}
    assert set(got) == set(EXPECTED_ERRORS), got
    for key, fragment in EXPECTED_ERRORS.items():
        assert fragment in got[key], (key, got[key])
    assert result.skipped == len(EXPECTED_ERRORS)
    assert sorted(s.username for s in result.created) == ["alice", "gina", "hank"]
    rows = await site.rows()
    assert set(rows) == {"alice", "gina", "hank", "taken"}
    alice, gina, hank = rows["alice"], rows["gina"], rows["hank"]
    assert alice.service == "pppoe" and alice.remote_address == "10.0.0.5"
    assert alice.expires_at == datetime(2030, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert gina.service == "hotspot" and gina.package_id == site.packages["hotspot"]["id"]
    assert gina.expires_at == datetime(2030, 2, 1, 8, 0, tzinfo=UTC)
    assert hank.static_ip == "10.1.1.1" and hank.password_encrypted is None
    assert site.runtime.vault.decrypt(alice.password_encrypted or "") == "Pw-alice1"
    for row in (alice, gina, hank):
        assert (row.sync_status, row.desired_version, row.synced_version) == ("pending", 1, 0)
        assert await site.events(row.id) == [("addUser", "requested", 1, site.owner.email)]


async def test_dry_run_reports_the_same_and_writes_nothing(site: Site) -> None:
    await make_subscriber(site.client, site.owner, router_id=site.router["id"], username="taken")
    result = await site.run(MIXED, dry_run=True)
    assert result.dry_run and result.created == [] and result.created_count == 3
    assert {(e.line, e.field) for e in result.errors} == set(EXPECTED_ERRORS)
    assert set(await site.rows()) == {"taken"}


async def test_header_problems_stop_the_whole_file(site: Site) -> None:
    cases = {
        "": "the file is empty",
        "username,package,colour,,\nx,Home,red,,\n": "unknown column(s) colour, (blank)",
        "password,package\nPw-1,Home\n": "lacks the column(s) username",
        "username,package,Username\n": "given twice: username",
    }
    for text, fragment in cases.items():
        with pytest.raises(CsvFileError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            await site.run(text)
    assert await site.rows() == {}


async def test_another_tenants_router_is_not_found(site: Site, factory: TenantFactory) -> None:
    other = await factory.staff(await factory.tenant())
    foreign = await make_router(site.client, other)
    with pytest.raises(NotFound):
        await import_csv(
            site.runtime.sessionmaker,
            tenant_id=site.owner.tenant_id or 0,
            router_id=foreign["id"],
            text="username,password,package\nzed,Pw-zed1,Home\n",
            vault=site.runtime.vault,
            actor="test",
        )


async def test_semicolons_bom_quotes_and_multiline_values_keep_line_numbers(site: Site) -> None:
    text = (
        "\ufeffUsername;Password;Package;Address;Full Name\n"
        'kim;Pw-kim1;Home;"Main St 1\nFlat 2";"Kim, K."\n'
        "\n"
        "bad user;Pw-x1;Home;;\n"
    )
    result = await site.run(text)
    assert [(e.line, e.field) for e in result.errors] == [(5, "username")]
    kim = (await site.rows())["kim"]
    assert kim.address == "Main St 1\nFlat 2" and kim.full_name == "Kim, K."


async def test_a_username_taken_meanwhile_skips_only_that_row(site: Site) -> None:
    text = "username,password,package\n" + "".join(f"u{i},Pw-u{i}x,Home\n" for i in range(5))
    async with site.runtime.sessionmaker() as session:
        checked = await check_csv(
            session, tenant_id=site.owner.tenant_id or 0, router_id=site.router["id"], text=text
        )
    # Another operator creates u3 between the check and the commit.
    await make_subscriber(site.client, site.owner, router_id=site.router["id"], username="u3")
    result = await commit_rows(
        site.runtime.sessionmaker, checked, vault=site.runtime.vault, actor="test", chunk_size=2
    )
    assert [(e.line, e.field) for e in result.errors] == [(5, None)]
    assert "refused" in result.errors[0].message
    assert sorted(s.username for s in result.created) == ["u0", "u1", "u2", "u4"]
    assert set(await site.rows()) == {"u0", "u1", "u2", "u3", "u4"}


async def test_ten_thousand_rows(site: Site) -> None:
    rows = "".join(
        f"user{i:05d},Pw-{i:05d}x,,Home,10.{i // 65536}.{i // 256 % 256}.{i % 256},,2031-01-01\n"
        for i in range(10_000)
    )
    result = await site.run(f"{HEADER}\n{rows}")
    assert result.errors == [] and len(result.created) == 10_000
    async with site.runtime.sessionmaker() as session:
        count = select(func.count()).where(Subscriber.router_id == site.router["id"])
        assert (await session.execute(count)).scalar_one() == 10_000
        events = (
            select(func.count())
            .select_from(SyncEvent)
            .join(Subscriber, Subscriber.id == SyncEvent.subscriber_id)
            .where(Subscriber.router_id == site.router["id"], SyncEvent.operation == "addUser")
        )
        assert (await session.execute(events)).scalar_one() == 10_000


def test_expiry_formats() -> None:
    assert parse_expiry("2030-06-30") == datetime(2030, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert parse_expiry("2030-06-30T12:00:00Z") == datetime(2030, 6, 30, 12, tzinfo=UTC)
    for bad in ("30/06/2030", "2030-06-31", "2030-06-30 12:00"):
        with pytest.raises(ValueError):
            parse_expiry(bad)


def test_rows_of_the_wrong_width_are_row_problems_not_file_problems() -> None:
    parsed = read_csv("username,package\na,Home,extra\nb\n c , Home \n")
    assert [row.problem is not None for row in parsed.rows] == [True, True, False]
    assert parsed.rows[2].values == {"username": "c", "package": "Home"}


async def test_a_database_failure_mid_way_says_which_lines_were_written(
    site: Site, tmp_path: Path
) -> None:
    text = "username,password,package\n" + "".join(f"w{i},Pw-w{i}x,Home\n" for i in range(3))
    async with site.runtime.sessionmaker() as session:
        checked = await check_csv(
            session, tenant_id=site.owner.tenant_id or 0, router_id=site.router["id"], text=text
        )
    # A database without the schema: every write fails with "no such table".
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(ImportInterrupted) as stopped:
            await commit_rows(
                make_sessionmaker(engine), checked, vault=site.runtime.vault, actor="test"
            )
    finally:
        await engine.dispose()
    assert stopped.value.first_unwritten_line == 2 and stopped.value.created == []
    assert "line 2 and everything after it were not" in str(stopped.value)
