"""The invariant checks catch what they claim to (a check that never fires proves nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mikrosync.security.vault import Vault
from mikrosync.simulator import SimConfig, SimRouter
from mikrosync.subscribers.models import Subscriber
from tests.chaos.invariants import PackageInfo, World, check
from tests.chaos.model import Expected, Model
from tests.chaos.plan import SlotSpec
from tests.chaos.technician import Ledger
from tests.plugins.core import TEST_SECRET_KEY

TENANT = 7
TAG = f"mikrosync:t={TENANT}:s=41"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
VAULT = Vault(TEST_SECRET_KEY, [])
PACKAGE = PackageInfo(3, "pppoe", "home-10m", "10M/5M")


def _world() -> World:
    sim = SimRouter(SimConfig())
    sim.add_row("/ppp/secret", {"name": "shop", "password": "x", "comment": "by hand"})
    sim.dial_in("ppp", "shop")
    ledger = Ledger()
    ledger.take([sim], TENANT)
    sim.add_row(
        "/ppp/profile",
        {"name": "home-10m", "rate-limit": "10M/5M", "comment": f"mikrosync:t={TENANT}:p=3"},
    )
    sim.add_row(
        "/ppp/secret",
        {
            "name": "alice",
            "password": "pw-1",
            "profile": "home-10m",
            "service": "pppoe",
            "comment": TAG,
            "disabled": "false",
        },
    )
    expected = Expected(SlotSpec(0, "pppoe", 0, "alice", 0), router_id=5)
    expected.accept(
        "create",
        {
            "id": 41,
            "package_id": 3,
            "pending_package_id": None,
            "is_suspended": False,
            "expires_at": (NOW + timedelta(days=30)).isoformat(),
            "static_ip": None,
            "remote_address": None,
            "pending_removal": False,
            "desired_version": 1,
        },
        password="pw-1",
    )
    row = Subscriber(
        id=41,
        tenant_id=TENANT,
        router_id=5,
        package_id=3,
        pending_package_id=None,
        service="pppoe",
        username="alice",
        password_encrypted=VAULT.encrypt("pw-1"),
        static_ip=None,
        expires_at=NOW + timedelta(days=30),
        is_suspended=False,
        pending_removal=False,
        sync_status="synced",
        desired_version=1,
        synced_version=1,
    )
    return World(
        tenant_id=TENANT,
        model=Model({0: expected}),
        rows={41: row},
        packages={3: PACKAGE},
        sims=[sim],
        router_index={5: 0},
        ledger=ledger,
        vault=VAULT,
        moment=NOW,
    )


def _kinds(world: World) -> list[str]:
    return sorted({kind for kind, _ in check(world).divergences})


def test_a_converged_world_has_no_divergence() -> None:
    world = _world()
    findings = check(world)
    assert findings.divergences == [] and findings.checked_on_router == 1


def _secret(world: World, name: str) -> dict[str, str]:
    return next(
        r for r in world.sims[0].store.table("/ppp/secret").items.values() if r["name"] == name
    )


@pytest.mark.parametrize(
    ("field", "value"), [("password", "other"), ("disabled", "true"), ("profile", "default")]
)
def test_a_router_object_that_differs_is_found(field: str, value: str) -> None:
    world = _world()
    _secret(world, "alice")[field] = value
    assert _kinds(world) == ["router differs"]


def test_an_owned_orphan_is_found() -> None:
    world = _world()
    world.sims[0].add_row("/ppp/secret", {"name": "ghost", "comment": f"mikrosync:t={TENANT}:s=9"})
    assert _kinds(world) == ["owned orphan"]


def test_a_touched_or_removed_foreign_object_is_found() -> None:
    world = _world()
    _secret(world, "shop")["password"] = "changed"
    assert _kinds(world) == ["unmanaged touched"]
    world = _world()
    world.sims[0].add_row("/queue/simple", {"name": "new", "target": "192.168.9.9"})
    assert _kinds(world) == ["unmanaged touched"]


def test_a_lost_update_is_found_in_the_database_and_on_the_router() -> None:
    world = _world()
    world.model.slots[0].password = "pw-2"  # the last accepted write set pw-2
    assert _kinds(world) == ["lost update", "router differs"]


def test_an_owed_disconnect_and_an_ended_foreign_session_are_found() -> None:
    world = _world()
    world.model.slots[0].suspended = True
    world.rows[41].is_suspended = True
    _secret(world, "alice")["disabled"] = "true"
    world.sims[0].store.table("/ppp/secret").items[_secret(world, "alice")[".id"]]["disabled"] = (
        "false"
    )
    assert world.sims[0].dial_in("ppp", "alice")
    _secret(world, "alice")["disabled"] = "true"
    world.sims[0].kick("ppp", "shop")
    kinds = _kinds(world)
    assert "owed disconnect" in kinds and "foreign session ended" in kinds


def test_expiry_counts_as_suspension() -> None:
    world = _world()
    world.model.slots[0].expires_at = NOW - timedelta(seconds=1)
    assert "lost update" in _kinds(world)  # the row is not suspended although expired
    world.rows[41].expires_at = NOW - timedelta(seconds=1)
    world.rows[41].is_suspended = True
    world.rows[41].suspend_reason = "expired"
    _secret(world, "alice")["disabled"] = "true"
    assert _kinds(world) == []


def test_a_stuck_pending_row_is_a_divergence() -> None:
    """It was bug 3's signature (two writes, one desired_version); fixed, so never excused."""
    world = _world()
    world.rows[41].sync_status = "pending"
    findings = check(world)
    assert findings.known == []
    assert [kind for kind, _ in findings.divergences] == ["not converged"]
