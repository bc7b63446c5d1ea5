"""plan_subscriber: desired state in, router objects out (pure, no DB, no sockets)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mikrosync.routeros import AddressListEntry, HotspotUser, PppSecret, SimpleQueue
from mikrosync.sync.plan import plan_subscriber
from tests.plugins.sync import BASE


def test_active_pppoe_secret_with_tag_and_package_profile() -> None:
    plan = plan_subscriber(BASE)
    [secret] = plan.ensure
    assert isinstance(secret, PppSecret)
    assert (secret.name, secret.profile, secret.disabled) == ("alice", "home-10m", False)
    assert secret.comment == "mikrosync:t=2:s=5"
    assert plan.profile is not None and plan.profile.comment == "mikrosync:t=2:p=9"
    assert plan.profile.rate_limit == "10M/5M 20M/10M"
    assert plan.kick is None and not plan.remove


@pytest.mark.parametrize(
    ("changes", "profile", "disabled", "kick", "verify"),
    [
        ({"is_suspended": True}, "home-10m", True, "ppp", True),
        ({"is_suspended": True, "suspension_profile": "pay"}, "pay", False, "ppp", True),
        ({"package_change": True}, "home-10m", False, "ppp", False),
        ({"suspension_profile": "pay"}, "home-10m", False, None, False),
    ],
)
def test_pppoe_states(
    changes: dict[str, object], profile: str, disabled: bool, kick: str | None, verify: bool
) -> None:
    plan = plan_subscriber(replace(BASE, **changes))  # type: ignore[arg-type]
    [secret] = plan.ensure
    assert isinstance(secret, PppSecret)
    assert (secret.profile, secret.disabled, plan.kick, plan.verify_offline) == (
        profile,
        disabled,
        kick,
        verify,
    )


def test_hotspot_user() -> None:
    plan = plan_subscriber(replace(BASE, service="hotspot", is_suspended=True))
    [user] = plan.ensure
    assert isinstance(user, HotspotUser) and user.disabled is True and plan.kick == "hotspot"


def test_static_queue_and_block_entry_only_when_suspended() -> None:
    static = replace(BASE, service="static", password=None, static_ip="10.0.0.9")
    active = plan_subscriber(static)
    [queue] = active.ensure
    assert isinstance(queue, SimpleQueue)
    assert (queue.target, queue.max_limit) == ("10.0.0.9", "10M/5M")
    assert active.remove == (AddressListEntry,) and active.kick is None
    suspended = plan_subscriber(replace(static, is_suspended=True))
    assert [type(r) for r in suspended.ensure] == [SimpleQueue, AddressListEntry]
    assert suspended.exclusive == (AddressListEntry,) and not suspended.remove


@pytest.mark.parametrize(
    ("service", "kinds", "kick"),
    [
        ("pppoe", (PppSecret,), "ppp"),
        ("hotspot", (HotspotUser,), "hotspot"),
        ("static", (SimpleQueue, AddressListEntry), None),
    ],
)
def test_removal_removes_every_owned_kind_and_kicks(
    service: str, kinds: tuple[type, ...], kick: str | None
) -> None:
    plan = plan_subscriber(replace(BASE, service=service, remove=True, static_ip="10.0.0.9"))
    assert plan.ensure == () and plan.remove == kinds and plan.kick == kick
    assert plan.session_user == "alice"
