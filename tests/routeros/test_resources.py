"""Parsing raw rows into records, and comparing desired with observed values."""

from __future__ import annotations

from mikrosync.routeros.resources import (
    AddressListEntry,
    PppSecret,
    SimpleQueue,
    SystemResource,
    active_from_row,
    api_value,
    from_row,
    same_value,
)
from mikrosync.routeros.tags import OwnerTag


def test_row_parses_into_record_with_text_values_and_booleans() -> None:
    row = {
        ".id": "*1A",
        "name": "12345",
        "password": "yes",
        "profile": "10M",
        "disabled": "true",
        "comment": "mikrosync:t=1:s=2",
        "last-logged-out": "2025-01-01 00:00:00",
    }
    secret = from_row(PppSecret, row)
    assert secret == PppSecret(
        name="12345",
        password="yes",
        profile="10M",
        disabled=True,
        comment="mikrosync:t=1:s=2",
        id="*1A",
    )
    assert secret.item_id == "*1A"
    assert secret.owner == OwnerTag.subscriber(1, 2)


def test_absent_properties_take_defaults() -> None:
    entry = from_row(AddressListEntry, {".id": "*3", "address": "10.0.0.9", "list": "x"})
    assert entry.disabled is None and entry.comment is None and entry.owner is None
    assert entry.key == "10.0.0.9"


def test_write_fields_skip_unmanaged_and_read_only() -> None:
    secret = PppSecret(name="a", password="p", disabled=False, id="*9")
    assert secret.write_fields() == {"name": "a", "password": "p", "disabled": False}


def test_booleans_go_out_as_yes_no() -> None:
    assert (api_value(True), api_value(False), api_value("true")) == ("yes", "no", "true")


def test_address_list_lookups_are_scoped_to_the_block_list() -> None:
    assert AddressListEntry.key_words("10.0.0.1") == (
        "?=list=mikrosync-blocked",
        "?=address=10.0.0.1",
    )
    assert PppSecret.key_words("007") == ("?=name=007",)
    assert PppSecret.proplist() == (
        "name,password,profile,service,remote-address,comment,disabled,.id"
    )


def test_rates_and_host_addresses_compare_by_meaning() -> None:
    assert same_value("max_limit", "10M/512k", "10000000/512000")
    assert not same_value("max_limit", "10M/10M", "10M/5M")
    assert same_value("target", "10.0.0.5", "10.0.0.5/32")
    assert not same_value("name", "a/32", "a")
    assert same_value("rate_limit", "2M/1M rx", "2M/1M rx")


def test_queue_row_roundtrip() -> None:
    queue = from_row(SimpleQueue, {".id": "*2", "name": "q", "max-limit": "1M/1M"})
    assert (queue.max_limit, queue.target) == ("1M/1M", None)


def test_active_rows_of_both_kinds_share_one_record() -> None:
    ppp = active_from_row("ppp", {".id": "*8", "name": "7", "caller-id": "AA:BB"})
    hotspot = active_from_row("hotspot", {".id": "*9", "user": "bob", "mac-address": "CC"})
    assert (ppp.name, ppp.caller_id) == ("7", "AA:BB")
    assert (hotspot.name, hotspot.caller_id, hotspot.kind) == ("bob", "CC", "hotspot")


def test_system_resource_version_tuple() -> None:
    res = SystemResource.from_row({"version": "7.19.4 (stable)", "board-name": "CHR"})
    assert res.version_tuple == (7, 19, 4)
    assert SystemResource.from_row({}).version_tuple == ()
