"""drift.classify: the database's plans and a router's rows in, drift out (pure: no DB, no
sockets). The cases the simulator tests do not reach easily."""

from __future__ import annotations

from dataclasses import replace

from mikrosync.routeros import (
    AddressListEntry,
    OwnerTag,
    PppProfile,
    PppSecret,
    Record,
    SimpleQueue,
)
from mikrosync.sync.desired import DesiredSubscriber
from mikrosync.sync.drift import ITEM_CAP, Drift, DriftKind, Expected, capped, classify, counts_of
from mikrosync.sync.observed import ObservedRouter
from mikrosync.sync.plan import plan_subscriber
from tests.plugins.sync import BASE

ALICE = replace(BASE, profile_name="home", rate_limit="10M/5M")
SUB = OwnerTag.subscriber(2, 5).render()
PKG = OwnerTag.package(2, 9).render()
PROFILE = PppProfile(name="home", rate_limit="10M/5M", comment=PKG, id="*1")
SECRET = PppSecret(
    name="alice",
    password="pw",
    profile="home",
    service="pppoe",
    comment=SUB,
    disabled=False,
    id="*2",
)


def _expected(desired: DesiredSubscriber = ALICE, in_flight: bool = False) -> Expected:
    return Expected(desired, plan_subscriber(desired), in_flight)


def _router(*records: Record, online: tuple[str, ...] = ()) -> ObservedRouter:
    observed = ObservedRouter(online={"ppp": set(online), "hotspot": set()})
    for record in records:
        if record.owner is not None and record.owner.tenant_id == "2":
            observed.owned.setdefault(type(record), []).append(record)
        else:
            observed.unmanaged.append(record)
    return observed


def _drift(expected: list[Expected], observed: ObservedRouter) -> list[Drift]:
    return classify(expected, observed, package_ids={9})


def test_a_matching_router_has_no_drift() -> None:
    assert _drift([_expected()], _router(PROFILE, SECRET)) == []


def test_a_password_the_router_does_not_print_is_not_drift() -> None:
    assert _drift([_expected()], _router(PROFILE, replace(SECRET, password=None))) == []
    [drift] = _drift([_expected()], _router(PROFILE, replace(SECRET, password="other")))
    assert drift.kind == DriftKind.DIFFERENT and drift.detail == "password differs"


def test_in_flight_rows_are_not_judged_and_their_objects_are_not_orphans() -> None:
    assert _drift([_expected(in_flight=True)], _router(PROFILE)) == []
    moved = replace(SECRET, profile="other")
    assert _drift([_expected(in_flight=True)], _router(PROFILE, moved)) == []


def test_online_while_suspended_is_owed_unless_the_suspension_is_captive() -> None:
    suspended = replace(ALICE, is_suspended=True)
    disabled = replace(SECRET, disabled=True)
    [drift] = _drift([_expected(suspended)], _router(PROFILE, disabled, online=("alice",)))
    assert drift.detail == "still online although suspended (owed disconnect)"
    captive = replace(suspended, suspension_profile="pay")
    moved = replace(SECRET, profile="pay")
    assert _drift([_expected(captive)], _router(PROFILE, moved, online=("alice",))) == []


def test_an_extra_object_of_a_live_subscriber_is_an_orphan_removed_by_key() -> None:
    extra = replace(SECRET, name="alice-old", id="*3")
    [drift] = _drift([_expected()], _router(PROFILE, SECRET, extra))
    assert (drift.kind, drift.name, drift.remove) == (
        DriftKind.ORPHAN,
        "alice-old",
        (PppSecret, "alice-old"),
    )


def test_an_orphan_without_a_row_is_removed_by_tag() -> None:
    [drift] = _drift([], _router(SECRET))
    assert drift.kind == DriftKind.ORPHAN and drift.subscriber_id == 5
    assert drift.remove == (PppSecret, OwnerTag.subscriber(2, 5))


def test_a_lifted_block_still_on_the_router_is_different() -> None:
    shop = replace(ALICE, service="static", username="shop", static_ip="10.0.0.5", password=None)
    queue = SimpleQueue(name="shop", target="10.0.0.5/32", max_limit="10M/5M", comment=SUB)
    block = AddressListEntry(address="10.0.0.5", comment=SUB)
    [drift] = _drift([_expected(shop)], _router(queue, block))
    assert drift.kind == DriftKind.DIFFERENT
    assert drift.detail == "/ip/firewall/address-list '10.0.0.5' should not be there"


def test_package_profiles() -> None:
    [absent] = _drift([_expected()], _router(SECRET))
    assert absent.kind == DriftKind.PROFILE_DRIFT and absent.ensure == replace(PROFILE, id="")
    faster = replace(PROFILE, rate_limit="10000000/5000000")
    assert _drift([_expected()], _router(faster, SECRET)) == []
    other = PppProfile(name="home", rate_limit="10M/5M", comment=OwnerTag.package(2, 8).render())
    [shared] = _drift([_expected()], _router(other, SECRET))
    assert shared.blocked == "two packages share this profile name"
    unused = PppProfile(name="spare", rate_limit="1M/1M", comment=PKG)
    assert all(d.name != "spare" for d in classify([], _router(unused), package_ids={9}))


def test_unmanaged_logins_include_other_tenants_tags() -> None:
    theirs = PppSecret(name="bob", comment=OwnerTag.subscriber(3, 1).render())
    plain = PppSecret(name="carl")
    drifts = _drift([], _router(theirs, plain))
    assert [(d.kind, d.name) for d in drifts] == [
        (DriftKind.UNMANAGED, "bob"),
        (DriftKind.UNMANAGED, "carl"),
    ]
    assert drifts[1].detail == "not mikrosync's (no comment)"


def test_a_missing_login_whose_name_is_taken_says_so() -> None:
    walk_in = PppSecret(name="alice", comment="vip")
    missing, unmanaged = _drift([_expected()], _router(PROFILE, walk_in))
    assert missing.kind == DriftKind.MISSING and "will not be taken over" in missing.detail
    assert unmanaged.kind == DriftKind.UNMANAGED


def test_counts_are_exact_and_items_capped() -> None:
    drifts = [Drift(DriftKind.UNMANAGED, "/ppp/secret", f"u{i}", "x") for i in range(ITEM_CAP + 7)]
    assert counts_of(drifts)["unmanaged"] == ITEM_CAP + 7
    assert counts_of(drifts)["missing"] == 0
    items = capped((d.kind, d.item()) for d in drifts)
    assert len(items["unmanaged"]) == ITEM_CAP and items["orphan"] == []
