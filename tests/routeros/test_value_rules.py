"""RouterOS value rules (pure)."""

from __future__ import annotations

import pytest

from mikrosync.routeros import value_rules as validators


@pytest.mark.parametrize(
    "value", ["10M/5M", "512k", "10M/5M 20M/10M 8M/4M 10/10 8 2M/1M", "1.5M/768k", "100000"]
)
def test_valid_rate_limits(value: str) -> None:
    assert validators.rate_limit(value) == value


@pytest.mark.parametrize("value", ["", "fast", "10X/5M", "10M/5M/1M", "1M 1M 1M 1M 9", "10 M"])
def test_invalid_rate_limits(value: str) -> None:
    # The message names the rate and shows the expected form (issue 17, item 12).
    with pytest.raises(ValueError, match=r"rate.*10M/5M|10M/5M.*rate"):
        validators.rate_limit(value)


@pytest.mark.parametrize("value", ["alice", "12345", "a.b-c_d@isp", "x" * 64])
def test_valid_names(value: str) -> None:
    assert validators.routeros_name(value) == value


@pytest.mark.parametrize("value", ["", "with space", "tab\there", "x" * 65, "ünï"])
def test_invalid_names(value: str) -> None:
    with pytest.raises(ValueError, match="username"):
        validators.routeros_name(value)


def test_profile_name_from_package_name() -> None:
    assert validators.profile_name_from("Home 10M / Gold") == "home-10m-gold"
    assert validators.profile_name_from("***") == "package"


def test_ipv4() -> None:
    assert validators.ipv4_address("10.0.0.5") == "10.0.0.5"
    with pytest.raises(ValueError, match="IPv4"):  # the schema's pattern allows no spaces
        validators.ipv4_address(" 10.0.0.5 ")
    with pytest.raises(ValueError, match="IPv4"):
        validators.ipv4_address("10.0.0.300")
