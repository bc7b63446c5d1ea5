"""The rules behind the new console pages, checked directly and on both databases: phone
search by digits, router errors in words, drift left by a run, CSV cells, staff guards, the
audit log's filters and router outages. The pages themselves are in the browser tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mikrosync.audit import log
from mikrosync.clock import now
from mikrosync.errors import Conflict
from mikrosync.routers.outages import flaps_since, open_since, recent_outages
from mikrosync.runtime import Runtime
from mikrosync.subscribers import queries
from mikrosync.subscribers.schemas import SubscriberFilters
from mikrosync.sync import router_state
from mikrosync.sync.reconcile_runs.models import ReconcileRun
from mikrosync.tenants import staff_admin
from mikrosync.tenants.models import Role, StaffUser
from mikrosync.web.exports import safe_cell
from mikrosync.web.router_words import router_words
from mikrosync.web.stats import outstanding
from tests.helpers import make_router, make_subscriber, unique
from tests.plugins.core import Staff, TenantFactory


@pytest.mark.parametrize(
    ("query", "digits"),
    [
        ("555 0014", "5550014"),
        ("+1 (555) 0014", "15550014"),
        ("5550014", "5550014"),
        ("alice", None),
        ("12", None),  # too short to be a phone number
        ("room 5550014", None),
    ],
)
def test_phone_digits(query: str, digits: str | None) -> None:
    assert queries.phone_digits(query) == digits


def test_router_words_keep_the_routers_own_words() -> None:
    raw = "api://api@127.0.0.1:42515: \"Connect call failed ('127.0.0.1', 42515)\""
    assert router_words(raw) == (
        "connection refused: nothing answers at 127.0.0.1:42515 "
        "(router down, or its API service off)"
    )
    assert router_words("failure: pool exhausted") == "failure: pool exhausted"
    assert router_words(None) == ""


def _run(dry_run: bool, actions: list[dict[str, str]]) -> ReconcileRun:
    return ReconcileRun(
        dry_run=dry_run,
        counts={"missing": 2, "orphan": 1, "unmanaged": 4},
        items={
            "missing": [
                {"menu": "/ppp/secret", "name": "a"},
                {"menu": "/ppp/secret", "name": "b"},
            ],
            "orphan": [{"menu": "/ppp/secret", "name": "ghost"}],
        },
        actions=actions,
    )


def test_drift_left_by_a_run() -> None:
    assert outstanding(_run(True, [])) == {"missing": 2, "orphan": 1}
    repaired = [
        {"menu": "/ppp/secret", "name": "a", "action": "fix", "result": "pending"},
        {"menu": "/ppp/secret", "name": "b", "action": "fix", "result": "failed: trap"},
        {"menu": "/ppp/secret", "name": "ghost", "action": "remove", "result": "removed"},
    ]
    assert outstanding(_run(False, repaired)) == {"missing": 1}


def test_csv_cells_never_run_as_formulas() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("+1 555 0014") == "'+1 555 0014"
    assert safe_cell("alice") == "alice"
    assert safe_cell(None) == ""


async def test_phone_search_finds_any_spacing(
    factory: TenantFactory, owner: Staff, runtime: Runtime
) -> None:
    digits = unique("")[-6:].replace("-", "0")
    digits = "".join(c if c.isdigit() else "7" for c in digits)
    created = await make_subscriber(factory.client, owner, phone=f"+1 555 {digits}")
    assert owner.tenant_id is not None
    async with runtime.sessionmaker() as session:
        for typed in (f"555 {digits}", f"555{digits}", f"+1555{digits}", f"(555) {digits}"):
            found, _ = await queries.list_subscribers(
                session, tenant_id=owner.tenant_id, filters=SubscriberFilters(q=typed)
            )
            assert [s.id for s in found] == [created["id"]], typed


async def test_staff_guards(factory: TenantFactory, runtime: Runtime) -> None:
    tenant_id = await factory.tenant()
    owner = await factory.staff(tenant_id, Role.OWNER)
    async with runtime.sessionmaker() as session:
        me = (await session.scalars(select(StaffUser).where(StaffUser.email == owner.email))).one()
        invited, password = await staff_admin.invite(
            session, tenant_id=tenant_id, email=f"{unique('new')}@isp.test", role="viewer"
        )
        assert len(password) >= 12 and invited.role == Role.VIEWER
        with pytest.raises(Conflict, match="your own role"):
            await staff_admin.set_role(
                session, tenant_id=tenant_id, user_id=me.id, role="viewer", by_user_id=me.id
            )
        with pytest.raises(Conflict, match="yourself"):
            await staff_admin.set_active(
                session, tenant_id=tenant_id, user_id=me.id, active=False, by_user_id=me.id
            )
        # Another owner may not remove the last owner either.
        with pytest.raises(Conflict, match="last active owner"):
            await staff_admin.set_role(
                session, tenant_id=tenant_id, user_id=me.id, role="admin", by_user_id=invited.id
            )
        await staff_admin.set_role(
            session, tenant_id=tenant_id, user_id=invited.id, role="owner", by_user_id=me.id
        )
        await staff_admin.set_active(
            session, tenant_id=tenant_id, user_id=me.id, active=False, by_user_id=invited.id
        )
        _, fresh = await staff_admin.reset_password(
            session, tenant_id=tenant_id, user_id=invited.id
        )
        assert fresh != password


async def test_audit_log_filters_are_tenant_scoped(
    factory: TenantFactory, runtime: Runtime
) -> None:
    mine, theirs = await factory.tenant(), await factory.tenant()
    async with runtime.sessionmaker() as session:
        await log.record(
            session,
            tenant_id=mine,
            actor="a@x.test",
            action="subscriber.suspend",
            target="alice",
            ip="10.0.0.1",
        )
        await log.record(
            session,
            tenant_id=mine,
            actor="b@x.test",
            action="router.test",
            target="tower-1",
            detail="online",
        )
        await log.record(
            session, tenant_id=theirs, actor="c@y.test", action="subscriber.create", target="alice"
        )
        found, total = await log.list_entries(
            session, tenant_id=mine, filters=log.AuditFilters(action="subscriber")
        )
        assert total == 1 and found[0].target == "alice" and found[0].ip == "10.0.0.1"
        found, total = await log.list_entries(
            session, tenant_id=mine, filters=log.AuditFilters(q="tower")
        )
        assert [e.action for e in found] == ["router.test"]
        found, total = await log.list_entries(
            session,
            tenant_id=mine,
            filters=log.AuditFilters(since=now() + timedelta(hours=1)),
        )
        assert total == 0
        assert await log.actors(session, tenant_id=mine) == ["a@x.test", "b@x.test"]


async def test_outages_open_and_close_with_the_routers_state(
    factory: TenantFactory, owner: Staff, runtime: Runtime
) -> None:
    router = await make_router(factory.client, owner)
    assert owner.tenant_id is not None
    async with runtime.sessionmaker() as session:
        for _ in range(2):  # a second failure does not open a second outage
            await router_state.mark_offline(session, router["id"], "connection refused")
            await session.commit()
        assert router["id"] in await open_since(session, tenant_id=owner.tenant_id)
        await router_state.mark_online(session, router["id"])
        await session.commit()
        assert router["id"] not in await open_since(session, tenant_id=owner.tenant_id)
        [outage] = await recent_outages(session, tenant_id=owner.tenant_id, router_id=router["id"])
        assert outage.ended_at is not None and outage.error == "connection refused"
        assert (await flaps_since(session, tenant_id=owner.tenant_id))[router["id"]] == 1


async def test_api_writes_go_to_the_audit_log(
    factory: TenantFactory, owner: Staff, runtime: Runtime
) -> None:
    created = await make_subscriber(factory.client, owner)
    path = f"/api/v1/subscribers/{created['id']}/suspend"
    assert (await factory.client.post(path, headers=owner.headers)).status_code < 300
    refused = await factory.client.post(
        "/api/v1/subscribers/999999999/suspend", headers=owner.headers
    )
    assert refused.status_code == 404
    assert owner.tenant_id is not None
    async with runtime.sessionmaker() as session:
        found, _ = await log.list_entries(
            session, tenant_id=owner.tenant_id, filters=log.AuditFilters(action="api")
        )
    targets = [(e.actor, e.action, e.target) for e in found]
    assert (owner.email, "api.post", path) in targets
    assert (owner.email, "api.post", "/api/v1/subscribers") in targets
    assert not any("999999999" in (e.target or "") for e in found)  # refused: not a change
