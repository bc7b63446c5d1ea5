"""API-SSL with the generated certificate, and state dump/load/seed."""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

import librouteros
import pytest
import routeros_api

from mikrosync.simulator import SimConfig, SimRouter
from mikrosync.simulator.testing import running_router
from tests.plugins.simulator import collect, in_thread


def insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def test_tls_with_librouteros_async_sync_and_routeros_api() -> None:
    async with running_router(password="pw", tls=True) as sim:
        assert sim.tls_port not in (None, 0, sim.port)
        assert sim.tls_port is not None
        tls_port = sim.tls_port
        api = await librouteros.async_connect(
            "127.0.0.1", "admin", "pw", port=tls_port, ssl_wrapper=insecure_context()
        )
        assert await collect(api, "/system/identity/print") == [{"name": "MikroTik"}]
        await api.close()

        def sync_clients() -> tuple[Any, Any, bytes]:
            context = insecure_context()
            wrapper = lambda sock: context.wrap_socket(sock)  # noqa: E731
            lib = librouteros.connect(
                "127.0.0.1", "admin", "pw", port=tls_port, ssl_wrapper=wrapper
            )
            try:
                rows = list(lib.path("system", "identity"))
                der = lib.protocol.transport.sock.getpeercert(binary_form=True)
            finally:
                lib.close()
            pool = routeros_api.RouterOsApiPool(
                "127.0.0.1", "admin", "pw", port=tls_port, plaintext_login=True,
                use_ssl=True, ssl_verify=False, ssl_verify_hostname=False,
            )  # fmt: skip
            try:
                other = pool.get_api().get_resource("/system/identity").get()
            finally:
                pool.disconnect()
            return rows, other, der

        rows, other, der = await in_thread(sync_clients)
        assert rows == [{"name": "MikroTik"}]
        assert other == [{"name": "MikroTik"}]
        assert sim.certificate is not None
        assert hashlib.sha256(der).hexdigest() == sim.certificate.sha256_fingerprint


async def test_verified_tls_fails_against_self_signed() -> None:
    async with running_router(tls=True) as sim:
        with pytest.raises(ssl.SSLCertVerificationError):
            await librouteros.async_connect(
                "127.0.0.1",
                "admin",
                "",
                port=sim.tls_port,
                ssl_wrapper=ssl.create_default_context(),
            )


async def test_dump_load_round_trip_keeps_ids_and_counters(sim: SimRouter) -> None:
    sim.add_row("/ppp/secret", {"name": "alice", "comment": "owner=isp1"})
    sim.add_row("/ppp/profile", {"name": "gold", "rate-limit": "10M/10M"})
    sim.store.set_identity("edge-9")
    dumped = sim.dump_state()
    other = SimRouter(SimConfig())
    other.load_state(dumped)
    assert other.rows("/ppp/secret") == sim.rows("/ppp/secret")
    assert other.store.identity == "edge-9"
    assert other.add_row("/ppp/secret", {"name": "bob"}) == "*2"
    assert [r["name"] for r in other.rows("/ppp/profile")] == [
        "default",
        "default-encryption",
        "gold",
    ]


async def test_load_rejects_foreign_json(sim: SimRouter) -> None:
    with pytest.raises(ValueError, match="not a simulator state dump"):
        sim.load_state({"tables": {}})


async def test_seed_secrets_are_not_ours_and_idempotent(sim: SimRouter, api: Any) -> None:
    ids = sim.seed_secrets(50)
    assert len(ids) == 50
    assert sim.seed_secrets(50) == []
    rows = await collect(api, "/ppp/secret/print")
    assert len(rows) == 50
    comments = {r.get("comment") for r in rows}
    assert None in comments
    assert not any(c and "owner" in c for c in comments)
