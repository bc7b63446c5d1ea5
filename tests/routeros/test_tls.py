"""API-SSL: verified by default, fingerprint pinning, insecure mode (simulator's TLS port)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mikrosync.routeros import (
    PermanentRouterError,
    PoolRegistry,
    RouterConfig,
    TlsError,
    TlsOptions,
)
from mikrosync.routeros.tls import normalise_fingerprint
from mikrosync.simulator import SimRouter

ConfigFactory = Callable[..., RouterConfig]


def tls_config(sim: SimRouter, make_config: ConfigFactory, tls: TlsOptions) -> RouterConfig:
    return make_config(port=sim.tls_port, tls=tls)


def pinned(sim: SimRouter) -> str:
    assert sim.certificate is not None
    return sim.certificate.sha256_fingerprint


async def test_pinned_fingerprint_connects(
    sim: SimRouter, make_config: ConfigFactory, registry: PoolRegistry
) -> None:
    colon_form = ":".join(pinned(sim)[i : i + 2] for i in range(0, 64, 2)).upper()
    ros = registry.client(tls_config(sim, make_config, TlsOptions(fingerprint=colon_form)))
    assert await ros.identity() == "MikroTik"


async def test_wrong_fingerprint_is_refused_before_login(
    sim: SimRouter, make_config: ConfigFactory, registry: PoolRegistry
) -> None:
    ros = registry.client(tls_config(sim, make_config, TlsOptions(fingerprint="0" * 64)))
    with pytest.raises(TlsError, match="does not match") as caught:
        await ros.identity()
    assert isinstance(caught.value, PermanentRouterError)
    assert sim.command_log == []


async def test_insecure_mode_accepts_a_self_signed_certificate(
    sim: SimRouter, make_config: ConfigFactory, registry: PoolRegistry
) -> None:
    ros = registry.client(tls_config(sim, make_config, TlsOptions(insecure=True)))
    assert await ros.identity() == "MikroTik"


async def test_verification_is_on_by_default(
    sim: SimRouter, make_config: ConfigFactory, registry: PoolRegistry
) -> None:
    ros = registry.client(tls_config(sim, make_config, TlsOptions()))
    with pytest.raises(TlsError) as caught:
        await ros.identity()
    assert caught.value.__cause__ is not None


async def test_verification_with_the_routers_ca(
    sim: SimRouter, make_config: ConfigFactory, registry: PoolRegistry, tmp_path: Path
) -> None:
    assert sim.certificate is not None
    ca = tmp_path / "router.pem"
    ca.write_bytes(sim.certificate.cert_pem)
    ros = registry.client(tls_config(sim, make_config, TlsOptions(cafile=str(ca))))
    assert await ros.identity() == "MikroTik"


def test_tls_port_defaults_to_8729() -> None:
    config = RouterConfig(host="r1", username="u", password="p", tls=TlsOptions(insecure=True))
    assert config.effective_port == 8729
    assert RouterConfig(host="r1", username="u", password="p").effective_port == 8728


def test_fingerprint_and_insecure_are_exclusive() -> None:
    with pytest.raises(ValueError):
        TlsOptions(fingerprint="a" * 64, insecure=True)


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "a" * 63])
def test_malformed_fingerprint_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_fingerprint(bad)


def test_fingerprint_forms_normalise() -> None:
    assert normalise_fingerprint("sha256:" + "AB" * 32) == "ab" * 32
