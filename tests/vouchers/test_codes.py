"""Pure pieces: codes, the alphabet and space checks, durations, the batch tag range."""

from __future__ import annotations

import pytest

from mikrosync.errors import InvalidInput
from mikrosync.routeros.tags import OwnerTag
from mikrosync.vouchers.carry import batch_tag_range, voucher_id_of
from mikrosync.vouchers.codes import (
    DEFAULT_ALPHABET,
    LOOK_ALIKES,
    check_alphabet,
    check_space,
    draw_unique,
)
from mikrosync.vouchers.schemas import byte_count, duration_seconds, routeros_duration


def test_default_alphabet_has_no_look_alikes() -> None:
    assert not set(DEFAULT_ALPHABET) & LOOK_ALIKES
    assert check_alphabet(DEFAULT_ALPHABET) == DEFAULT_ALPHABET


def test_alphabet_and_space_are_checked_naming_the_field() -> None:
    assert check_alphabet("AABBC") == "ABC"
    with pytest.raises(InvalidInput) as small:
        check_alphabet("AAAA")
    assert small.value.field == "alphabet"
    with pytest.raises(InvalidInput) as symbols:
        check_alphabet("AB-")
    assert symbols.value.field == "alphabet"
    with pytest.raises(InvalidInput) as space:
        check_space(count=1000, code_length=4, alphabet="ABCDEF")
    assert space.value.field == "code_length"
    check_space(count=10_000, code_length=8, alphabet=DEFAULT_ALPHABET)


def test_drawn_codes_are_distinct_and_avoid_taken_ones() -> None:
    taken = {"HOTAAAA"}
    codes = draw_unique(2000, alphabet=DEFAULT_ALPHABET, length=6, prefix="HOT", taken=taken)
    assert len(set(codes)) == 2000 and not taken & set(codes)
    assert all(c.startswith("HOT") and len(c) == 9 for c in codes)


def test_durations_and_amounts() -> None:
    assert duration_seconds("1d12h") == 129_600
    assert routeros_duration(duration_seconds("90m")) == "1h30m"
    assert byte_count("500M") == 500 * 1024**2
    with pytest.raises(ValueError):
        duration_seconds("soon")


def test_batch_tag_range_selects_exactly_one_batch() -> None:
    low, high = (word.split("=", 1)[1] for word in batch_tag_range(1, 1))
    inside = [OwnerTag.voucher(1, 1, n).render() for n in (1, 9, 10, 123456)]
    outside = [
        OwnerTag.voucher(1, 12, 1).render(),
        OwnerTag.voucher(1, 10, 5).render(),
        OwnerTag.voucher(11, 1, 5).render(),
        OwnerTag.subscriber(1, 1).render(),
    ]
    assert all(low < c < high for c in inside)
    assert not any(low < c < high for c in outside)
    assert voucher_id_of("mikrosync:t=1:v=1-77", 1, 1) == 77
    assert voucher_id_of("mikrosync:t=1:v=12-77", 1, 1) is None
    assert voucher_id_of("mikrosync:t=2:v=1-77", 1, 1) is None
