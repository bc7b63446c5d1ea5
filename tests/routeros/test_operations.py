"""Every typed operation of RouterClient against the simulator over real TCP."""

from __future__ import annotations

import pytest

from mikrosync.routeros import (
    BLOCK_LIST,
    AddressListEntry,
    ForeignObject,
    HotspotProfile,
    HotspotUser,
    OwnerTag,
    PppProfile,
    PppSecret,
    RouterClient,
    SimpleQueue,
)
from mikrosync.simulator import SimRouter

ALICE = OwnerTag.subscriber(1, 10)
BOB = OwnerTag.subscriber(1, 11)
OTHER_TENANT = OwnerTag.subscriber(2, 10)
PACKAGE = OwnerTag.package(1, 5)


def secret(name: str = "alice", owner: OwnerTag = ALICE, **fields: object) -> PppSecret:
    values: dict[str, object] = {
        "password": "pw1",
        "profile": "default",
        "service": "pppoe",
        "disabled": False,
        "comment": owner.render(),
    }
    values.update(fields)
    return PppSecret(name=name, **values)  # type: ignore[arg-type]


async def test_identity_and_version(ros: RouterClient) -> None:
    assert await ros.identity() == "MikroTik"
    resource = await ros.resource()
    assert resource.version_tuple[:2] == (7, 18)
    assert resource.board_name


@pytest.mark.parametrize("kind", [PppProfile, HotspotProfile])
async def test_ensure_profile_creates_then_updates_only_the_rate_limit(
    ros: RouterClient, sim: SimRouter, kind: type[PppProfile] | type[HotspotProfile]
) -> None:
    desired = kind(name="10M", rate_limit="10M/10M", comment=PACKAGE.render())
    created = await ros.ensure(desired)
    assert created.action == "created" and created.commands == (f"{kind.PATH}/add",)
    assert (await ros.ensure(desired)).commands == ()

    faster = kind(name="10M", rate_limit="20M/20M", comment=PACKAGE.render())
    updated = await ros.ensure(faster)
    assert updated.changed_fields == ("rate_limit",)
    found = await ros.find(kind, "10M")
    assert found is not None and found.rate_limit == "20M/20M" and found.owner == PACKAGE


async def test_ensure_secret_is_idempotent_and_sets_only_differing_fields(
    ros: RouterClient, sim: SimRouter
) -> None:
    await ros.ensure(PppProfile(name="10M", rate_limit="10M/10M", comment=PACKAGE.render()))
    first = await ros.ensure(secret())
    assert first.action == "created"
    sim.reset_command_log()

    again = await ros.ensure(secret())
    assert again.action == "unchanged" and not again.changed
    assert sim.command_log == ["/ppp/secret/print"]

    changed = await ros.ensure(secret(password="pw2", profile="10M"))
    assert changed.action == "updated"
    assert changed.changed_fields == ("password", "profile")
    assert changed.ids == first.ids
    row = sim.rows("/ppp/secret")[0]
    assert (row["password"], row["profile"], row["comment"]) == ("pw2", "10M", ALICE.render())


async def test_numeric_usernames_stay_text(ros: RouterClient, sim: SimRouter) -> None:
    for name in ("12345", "007", "-5"):
        await ros.ensure(secret(name, password="1234"))
        found = await ros.find(PppSecret, name)
        assert found is not None and found.name == name and found.password == "1234"
    assert (await ros.ensure(secret("12345", password="1234"))).commands == ()
    assert sorted(s.name for s in await ros.list_owned(PppSecret)) == ["-5", "007", "12345"]


async def test_utf8_comment_round_trips(ros: RouterClient, sim: SimRouter) -> None:
    note = "Zürich, café ☕ 東京"
    await ros.ensure(PppSecret(name="u1", password="p", comment=note), take_over=True)
    found = await ros.find(PppSecret, "u1")
    assert found is not None and found.comment == note and found.owner is None
    assert sim.rows("/ppp/secret")[0]["comment"] == note


async def test_disable_enable_remove_by_name(ros: RouterClient, sim: SimRouter) -> None:
    await ros.ensure(secret())
    disabled = await ros.disable(PppSecret, "alice")
    assert disabled.commands == ("/ppp/secret/disable",)
    assert sim.rows("/ppp/secret")[0]["disabled"] == "true"
    assert not (await ros.disable(PppSecret, "alice")).changed

    assert (await ros.enable(PppSecret, "alice")).commands == ("/ppp/secret/enable",)
    assert not (await ros.enable(PppSecret, "alice")).changed

    assert (await ros.remove(PppSecret, "alice")).action == "removed"
    assert (await ros.remove(PppSecret, "alice")).action == "absent"
    assert await ros.find(PppSecret, "alice") is None


async def test_operations_by_owner_tag_touch_only_that_owner(
    ros: RouterClient, sim: SimRouter
) -> None:
    await ros.ensure(secret("alice"))
    await ros.ensure(secret("bob", owner=BOB))
    assert [s.name for s in await ros.find_owned_by(PppSecret, ALICE)] == ["alice"]

    assert (await ros.disable(PppSecret, ALICE)).action == "updated"
    flags = {row["name"]: row["disabled"] for row in sim.rows("/ppp/secret")}
    assert flags == {"alice": "true", "bob": "false"}
    assert (await ros.enable(PppSecret, ALICE)).action == "updated"

    assert (await ros.remove(PppSecret, ALICE)).action == "removed"
    assert [row["name"] for row in sim.rows("/ppp/secret")] == ["bob"]
    assert (await ros.remove(PppSecret, ALICE)).action == "absent"


async def test_hotspot_user_lifecycle(ros: RouterClient, sim: SimRouter) -> None:
    await ros.ensure(HotspotProfile(name="1h", rate_limit="2M/1M", comment=PACKAGE.render()))
    user = HotspotUser(name="4711", password="x", profile="1h", comment=ALICE.render())
    assert (await ros.ensure(user)).action == "created"
    assert (await ros.ensure(user)).action == "unchanged"
    assert (await ros.disable(HotspotUser, ALICE)).changed
    found = await ros.find(HotspotUser, "4711")
    assert found is not None and found.disabled is True and found.profile == "1h"
    assert (await ros.enable(HotspotUser, "4711")).changed
    assert (await ros.remove(HotspotUser, "4711")).action == "removed"
    assert sim.rows("/ip/hotspot/user") == []


async def test_simple_queue_compares_limits_and_targets_by_meaning(
    ros: RouterClient, sim: SimRouter
) -> None:
    queue = SimpleQueue(name="q-alice", target="10.0.0.5", max_limit="10M/5M", comment=str(ALICE))
    assert (await ros.ensure(queue)).action == "created"
    # The router prints the target as 10.0.0.5/32; that is not a difference.
    assert (await ros.ensure(queue)).action == "unchanged"
    faster = SimpleQueue(name="q-alice", target="10.0.0.5", max_limit="20M/10M")
    result = await ros.ensure(faster)
    assert result.changed_fields == ("max_limit",)
    assert sim.rows("/queue/simple")[0]["max-limit"] in ("20M/10M", "20000000/10000000")
    assert (await ros.disable(SimpleQueue, "q-alice")).changed
    assert (await ros.remove(SimpleQueue, ALICE)).action == "removed"


async def test_address_list_entry_on_the_block_list(ros: RouterClient, sim: SimRouter) -> None:
    sim.add_row("/ip/firewall/address-list", {"list": "other", "address": "10.0.0.7"})
    entry = AddressListEntry(address="10.0.0.7", comment=ALICE.render())
    assert (await ros.ensure(entry)).action == "created"
    assert (await ros.ensure(entry)).action == "unchanged"
    found = await ros.find(AddressListEntry, "10.0.0.7")
    assert found is not None and found.list == BLOCK_LIST and found.owner == ALICE
    assert (await ros.disable(AddressListEntry, "10.0.0.7")).changed
    assert (await ros.remove(AddressListEntry, ALICE)).action == "removed"
    assert [r["list"] for r in sim.rows("/ip/firewall/address-list")] == ["other"]


async def test_foreign_objects_are_refused_unless_taken_over(
    ros: RouterClient, sim: SimRouter
) -> None:
    sim.add_row("/ppp/secret", {"name": "alice", "password": "theirs", "comment": "by hand"})
    with pytest.raises(ForeignObject, match="not tagged"):
        await ros.ensure(secret())
    with pytest.raises(ForeignObject):
        await ros.remove(PppSecret, "alice")
    with pytest.raises(ForeignObject):
        await ros.disable(PppSecret, "alice")
    assert sim.rows("/ppp/secret")[0]["password"] == "theirs"

    taken = await ros.ensure(secret(), take_over=True)
    assert taken.action == "updated" and "comment" in taken.changed_fields
    assert (await ros.remove(PppSecret, "alice")).action == "removed"


async def test_another_owners_object_is_refused(ros: RouterClient) -> None:
    await ros.ensure(secret(owner=OTHER_TENANT))
    with pytest.raises(ForeignObject, match="owned by mikrosync:t=2:s=10"):
        await ros.ensure(secret(owner=ALICE))
    assert (await ros.ensure(secret(owner=ALICE), take_over=True)).changed


@pytest.mark.parametrize(("kind", "user_kind"), [("ppp", PppSecret), ("hotspot", HotspotUser)])
async def test_active_sessions_listed_and_kicked(
    ros: RouterClient, sim: SimRouter, kind: str, user_kind: type[PppSecret]
) -> None:
    for name in ("alice", "4711"):
        await ros.ensure(user_kind(name=name, password="p", comment=ALICE.render()))
        assert sim.dial_in(kind, name)
    active = await ros.list_active(kind)  # type: ignore[arg-type]
    assert sorted(a.name for a in active) == ["4711", "alice"]
    assert all(a.kind == kind and a.id for a in active)
    assert [a.name for a in await ros.list_active(kind, "4711")] == ["4711"]  # type: ignore[arg-type]

    kicked = await ros.kick(kind, "4711")  # type: ignore[arg-type]
    assert kicked.action == "removed" and len(kicked.ids) == 1
    assert (await ros.kick(kind, "4711")).action == "absent"  # type: ignore[arg-type]
    assert [a.name for a in await ros.list_active(kind)] == ["alice"]  # type: ignore[arg-type]


async def test_write_log_records_every_write(ros: RouterClient) -> None:
    await ros.ensure(secret())
    await ros.ensure(secret())
    await ros.disable(PppSecret, "alice")
    assert ros.write_log == ["/ppp/secret/add", "/ppp/secret/disable"]
