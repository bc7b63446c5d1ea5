"""Table engine and menus: ids, schemas, references, verbs and the §7 error texts."""

from __future__ import annotations

import pytest

from mikrosync.simulator import SimRouter
from tests.plugins.simulator import RawClient


def trap(message: str, category: int | None = None) -> list[list[str]]:
    words = ["!trap"] + ([f"=category={category}"] if category is not None else [])
    return [[*words, f"=message={message}"], ["!done"]]


async def test_ids_are_hex_monotonic_and_never_reused(raw: RawClient) -> None:
    for i in range(1, 12):
        assert await raw.call("/ppp/secret/add", f"=name=u{i}") == [["!done", f"=ret=*{i:X}"]]
    await raw.call("/ppp/secret/remove", "=numbers=*B")
    assert await raw.call("/ppp/secret/add", "=name=again") == [["!done", "=ret=*C"]]


async def test_builtin_profiles(sim: SimRouter) -> None:
    rows = sim.rows("/ppp/profile")
    assert [(r[".id"], r["name"], r["default"]) for r in rows] == [
        ("*0", "default", "true"),
        ("*FFFFFFFE", "default-encryption", "true"),
    ]
    assert [r["name"] for r in sim.rows("/ip/hotspot/user/profile")] == ["default"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            ["/ppp/secret/add", "=name=a", "=profile=gold"],
            trap("input does not match any value of profile", 1),
        ),
        (
            ["/ppp/secret/add", "=name=a", "=service=carrier-pigeon"],
            trap("input does not match any value of service", 1),
        ),
        (
            ["/ppp/secret/add", "=name=a", "=remote-address=10.0.0.300"],
            trap("invalid value for argument remote-address", 1),
        ),
        (
            ["/ppp/secret/add", "=name=a", "=disabled=maybe"],
            trap("invalid value for argument disabled", 1),
        ),
        (
            ["/ppp/secret/add", "=name=a", "=limit-bytes-in=lots"],
            trap("invalid value for argument limit-bytes-in", 1),
        ),
        (["/ppp/secret/add", "=name=a", "=colour=red"], trap("unknown parameter colour")),
        (
            ["/ppp/secret/add", "=name=a", "=last-logged-out=x"],
            trap("unknown parameter last-logged-out"),
        ),
        (["/ppp/secret/add", "=password=x"], trap("failure: name must be specified", 1)),
        (["/ppp/secret/set", "=.id=*7", "=comment=x"], trap("no such item (4)", 0)),
        (["/ppp/secret/remove", "=numbers=nobody"], trap("no such item (4)", 0)),
        (
            ["/ppp/active/add", "=name=x"],
            [*trap("no such command or directory (add)", 0)[:1], *trap("no such command prefix")],
        ),
        (
            ["/ip/hotspot/user/add", "=name=a", "=profile=gold"],
            trap("input does not match any value of profile", 1),
        ),
        (
            ["/ppp/profile/remove", "=numbers=default"],
            trap("failure: default item can not be removed"),
        ),
    ],
)
async def test_error_texts_and_categories(
    raw: RawClient, words: list[str], expected: list[list[str]]
) -> None:
    assert await raw.call(*words) == expected


async def test_duplicate_messages_per_menu(raw: RawClient) -> None:
    cases = [
        ("/ppp/secret/add", ["=name=a"], "failure: secret with the same name already exists"),
        (
            "/ip/hotspot/user/add",
            ["=name=a"],
            "failure: already have user with this name for this server",
        ),
        (
            "/ip/firewall/address-list/add",
            ["=list=L", "=address=1.2.3.4"],
            "failure: already have such entry",
        ),
        (
            "/queue/simple/add",
            ["=name=q", "=target=1.2.3.4"],
            "failure: already have queue with such name",
        ),
        ("/ppp/profile/add", ["=name=gold"], "failure: profile with the same name already exists"),
    ]
    for command, words, message in cases:
        assert (await raw.call(command, *words))[0][0] == "!done"
        assert await raw.call(command, *words) == trap(message)


async def test_hotspot_names_are_unique_per_server(raw: RawClient) -> None:
    assert (await raw.call("/ip/hotspot/user/add", "=name=a", "=server=hs1"))[0][0] == "!done"
    assert (await raw.call("/ip/hotspot/user/add", "=name=a", "=server=hs2"))[0][0] == "!done"


async def test_set_to_an_existing_name_is_a_duplicate(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=a")
    await raw.call("/ppp/secret/add", "=name=b")
    reply = await raw.call("/ppp/secret/set", "=numbers=b", "=name=a")
    assert reply == trap("failure: secret with the same name already exists")


async def test_set_remove_enable_disable_unset_by_id_numbers_names_lists(
    sim: SimRouter, raw: RawClient
) -> None:
    for name in ("a", "b", "c"):
        await raw.call("/ppp/secret/add", f"=name={name}", "=comment=x", "=remote-address=10.0.0.1")
    assert await raw.call("/ppp/secret/disable", "=numbers=*1,b") == [["!done"]]
    assert [r["disabled"] for r in sim.rows("/ppp/secret")] == ["true", "true", "false"]
    assert await raw.call("/ppp/secret/enable", "=.id=*2") == [["!done"]]
    assert await raw.call("/ppp/secret/set", "=.id=c", "=password=new") == [["!done"]]
    assert await raw.call(
        "/ppp/secret/unset", "=numbers=*1", "=value-name=comment,remote-address"
    ) == [["!done"]]
    first = sim.rows("/ppp/secret")[0]
    assert "comment" not in first
    assert "remote-address" not in first
    assert await raw.call("/ppp/secret/comment", "=numbers=*2", "=comment=hello") == [["!done"]]
    assert sim.rows("/ppp/secret")[1]["comment"] == "hello"
    assert await raw.call("/ppp/secret/remove", "=.id=*1,*9") == trap("no such item (4)", 0)
    assert len(sim.rows("/ppp/secret")) == 3  # a failing list changes nothing
    assert await raw.call("/ppp/secret/remove", "=.id=*1,c") == [["!done"]]
    assert [r["name"] for r in sim.rows("/ppp/secret")] == ["b"]


async def test_unset_properties_are_omitted_and_empty_ones_kept(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=a")
    [row, _] = await raw.call("/ppp/secret/print")
    assert "=caller-id=" in row
    assert not any(w.startswith(("=remote-address", "=comment", "=last-logged-out")) for w in row)


async def test_proplist_with_no_matching_properties_sends_empty_re(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=a")
    assert await raw.call("/ppp/secret/print", "=.proplist=nothing") == [["!re"], ["!done"]]


async def test_print_from_and_unknown_print_parameter(raw: RawClient) -> None:
    await raw.call("/ppp/secret/add", "=name=a")
    await raw.call("/ppp/secret/add", "=name=b")
    reply = await raw.call("/ppp/secret/getall", "=from=b", "=.proplist=name")
    assert reply == [["!re", "=name=b"], ["!done"]]
    assert await raw.call("/ppp/secret/print", "=bogus=1") == trap("unknown parameter bogus")


async def test_singletons_have_no_id(raw: RawClient) -> None:
    assert await raw.call("/system/identity/set", "=name=edge-1") == [["!done"]]
    assert await raw.call("/system/identity/print") == [["!re", "=name=edge-1"], ["!done"]]
    [resource, _] = await raw.call("/system/resource/print")
    assert not any(w.startswith("=.id=") for w in resource)
    assert "=version=7.18.2 (stable)" in resource
    assert "=platform=MikroTik" in resource


async def test_queue_and_address_list_normalisation(sim: SimRouter, raw: RawClient) -> None:
    await raw.call("/queue/simple/add", "=name=q1", "=target=10.0.0.7", "=max-limit=10M/10M")
    [queue] = sim.rows("/queue/simple")
    assert queue["target"] == "10.0.0.7/32"
    assert queue["max-limit"] == "10M/10M"
    assert queue["limit-at"] == "0/0"
    await raw.call("/ip/firewall/address-list/add", "=list=blocked", "=address=10.0.0.7")
    [entry] = sim.rows("/ip/firewall/address-list")
    assert entry["creation-time"][:2] == "20"  # ISO date on 7.10+
    assert entry["dynamic"] == "false"


async def test_queue_move(sim: SimRouter, raw: RawClient) -> None:
    for name in ("q1", "q2", "q3"):
        await raw.call("/queue/simple/add", f"=name={name}", "=target=10.0.0.1")
    assert await raw.call("/queue/simple/move", "=numbers=q3", "=destination=q1") == [["!done"]]
    assert [r["name"] for r in sim.rows("/queue/simple")] == ["q3", "q1", "q2"]


async def test_unknown_verb_and_partial_paths(raw: RawClient) -> None:
    expected = [
        ["!trap", "=category=0", "=message=no such command or directory (frobnicate)"],
        ["!trap", "=message=no such command prefix"],
        ["!done"],
    ]
    assert await raw.call("/ppp/secret/frobnicate") == expected
    reply = await raw.call("/ppp/secrets/print")
    assert reply[0][-1] == "=message=no such command or directory (secrets)"


async def test_technician_edits_and_reference_checks(sim: SimRouter, raw: RawClient) -> None:
    await raw.call("/ppp/profile/add", "=name=gold", "=rate-limit=10M/10M")
    assert (await raw.call("/ppp/secret/add", "=name=a", "=profile=gold"))[0][0] == "!done"
    item_id = sim.add_row("/ppp/secret", {"name": "manual", "last-caller-id": "x"})
    assert item_id == "*2"
    assert sim.rows("/ppp/secret")[1]["last-caller-id"] == "x"
