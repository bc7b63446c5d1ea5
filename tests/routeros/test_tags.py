"""Owner tag: rendering, parsing back, and telling ours from anyone else's comment."""

from __future__ import annotations

import pytest

from mikrosync.routeros.tags import OwnerTag, parse_tag, prefix_query, tag_prefix


def test_subscriber_tag_renders_and_parses_back() -> None:
    tag = OwnerTag.subscriber(7, "c0ffee-42")
    assert tag.render() == "mikrosync:t=7:s=c0ffee-42"
    assert parse_tag(tag.render()) == tag


def test_package_tag_renders_and_parses_back() -> None:
    tag = OwnerTag.package("acme", 3)
    assert str(tag) == "mikrosync:t=acme:p=3"
    assert parse_tag(str(tag)) == tag
    assert tag != OwnerTag.subscriber("acme", 3)


@pytest.mark.parametrize(
    "comment",
    [
        None,
        "",
        "customer alice",
        "Mikrosync:t=1:s=2",
        "mikrosync:t=1",
        "mikrosync:t=1:x=2",
        "mikrosync:t=1:s=2 moved by hand",
        " mikrosync:t=1:s=2",
        "mikrosync:t=1:s=",
        "mikrosync:t=a b:s=2",
    ],
)
def test_foreign_or_malformed_comment_is_not_ours(comment: str | None) -> None:
    assert parse_tag(comment) is None


@pytest.mark.parametrize("bad", ["", "a:b", "x y", "é", "1" * 65])
def test_tag_rejects_ids_that_would_not_parse_back(bad: str) -> None:
    with pytest.raises(ValueError):
        OwnerTag.subscriber(bad, 1)
    with pytest.raises(ValueError):
        tag_prefix(bad)


def test_prefix_query_brackets_exactly_the_tagged_comments() -> None:
    low, high = prefix_query("comment", tag_prefix())
    assert (low, high) == ("?>comment=mikrosync:", "?<comment=mikrosync;")
    lo, hi = low.split("=", 1)[1], high.split("=", 1)[1]
    inside = [OwnerTag.subscriber(1, 2).render(), OwnerTag.package("z", "9").render()]
    outside = ["mikrosync", "mikrosync-blocked", "mikrosync;", "mikrosynd:", "Mikrosync:t=1"]
    assert all(lo < c < hi for c in inside)
    assert not any(lo < c < hi for c in outside)


def test_tenant_prefix_scopes_to_one_tenant() -> None:
    low, high = prefix_query("comment", tag_prefix(1))
    lo, hi = low.split("=", 1)[1], high.split("=", 1)[1]
    assert lo < OwnerTag.subscriber(1, 5).render() < hi
    assert not lo < OwnerTag.subscriber(12, 5).render() < hi
    assert not lo < OwnerTag.subscriber(2, 5).render() < hi


def test_prefix_query_requires_a_colon_terminated_prefix() -> None:
    with pytest.raises(ValueError):
        prefix_query("comment", "mikrosync")


def test_voucher_tag_round_trips_and_names_its_batch() -> None:
    tag = OwnerTag.voucher(7, 12, 3456)
    assert tag.render() == "mikrosync:t=7:v=12-3456"
    assert parse_tag("mikrosync:t=7:v=12-3456") == tag
    assert parse_tag("mikrosync:t=7:x=12-3456") is None
