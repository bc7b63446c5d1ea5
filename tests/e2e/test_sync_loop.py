"""Every job end to end: REST API -> commit -> queue -> worker process -> simulated router."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import librouteros

from tests.plugins.e2e import Site, WorkerProcess, eventually


async def test_pppoe_lifecycle_through_the_api(site: Site, worker: WorkerProcess) -> None:
    created = await site.subscriber(username="alice", password="alice-pw")
    await site.synced(created["id"])
    [secret] = site.rows("/ppp/secret", name="alice")
    assert secret["profile"] == site.packages["pppoe"]["profile_name"]
    assert secret["comment"].startswith("mikrosync:t=")

    site.sim.dial_in("ppp", "alice")
    faster = await site.call(
        "POST", "/packages", json={"name": "Fiber 50", "service": "pppoe", "rate_limit": "50M/20M"}
    )
    await site.call("PATCH", f"/subscribers/{created['id']}", json={"package_id": faster["id"]})
    row = await site.synced(created["id"])
    assert row["package_id"] == faster["id"] and row["pending_package_id"] is None
    assert site.rows("/ppp/secret", name="alice")[0]["profile"] == "fiber-50"
    assert site.rows("/ppp/active", name="alice") == []

    site.sim.dial_in("ppp", "alice")
    await site.call("POST", f"/subscribers/{created['id']}/suspend")
    await site.synced(created["id"])
    assert site.rows("/ppp/secret", name="alice")[0]["disabled"] == "true"
    assert site.rows("/ppp/active", name="alice") == []

    await site.call("POST", f"/subscribers/{created['id']}/connect")
    await site.synced(created["id"])
    assert site.rows("/ppp/secret", name="alice")[0]["disabled"] == "false"

    await site.call("POST", f"/subscribers/{created['id']}/renew")
    await site.synced(created["id"])

    await site.call("DELETE", f"/subscribers/{created['id']}")

    async def gone() -> bool:
        return (await site.status(created["id"])).get("gone", False)

    await eventually(gone, what="row removed")
    assert site.rows("/ppp/secret", name="alice") == []


async def test_hotspot_and_static_through_the_api(site: Site, worker: WorkerProcess) -> None:
    hotspot = await site.subscriber("hotspot", username="guest")
    static = await site.subscriber("static", username="office", static_ip="10.50.0.2")
    await site.synced(hotspot["id"])
    await site.synced(static["id"])
    assert site.rows("/ip/hotspot/user", name="guest")
    assert site.rows("/queue/simple", name="office")
    for created in (hotspot, static):
        await site.call("POST", f"/subscribers/{created['id']}/suspend")
    await site.synced(hotspot["id"])
    await site.synced(static["id"])
    assert site.rows("/ip/hotspot/user", name="guest")[0]["disabled"] == "true"
    assert site.rows("/ip/firewall/address-list", list="mikrosync-blocked")


async def test_router_checked_with_librouteros_from_outside(
    site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="12345", password="numeric-pw")
    await site.synced(created["id"])

    def read() -> list[dict[str, object]]:
        api = librouteros.connect(site.sim.host, "admin", "router-pw", port=site.sim.port)
        try:
            return list(api.path("ppp", "secret"))
        finally:
            api.close()

    secrets = await asyncio.to_thread(read)
    assert [s["name"] for s in secrets] == [12345]  # librouteros casts numeric names


async def test_router_down_then_up_converges_without_error(
    site: Site, worker: WorkerProcess
) -> None:
    first = await site.subscriber(username="before")
    await site.synced(first["id"])
    await site.sim.go_down()
    later = await site.subscriber(username="during")
    await site.call("POST", f"/subscribers/{first['id']}/suspend")

    async def router_offline() -> bool:
        router = await site.call("GET", f"/routers/{site.router['id']}")
        return router["is_online"] is False

    await eventually(router_offline, what="router marked offline")
    for created in (first, later):
        row = await site.status(created["id"])
        assert row["sync_status"] in ("pending", "syncing"), row
    await site.sim.come_up()
    await site.synced(first["id"])
    await site.synced(later["id"])
    assert site.rows("/ppp/secret", name="before")[0]["disabled"] == "true"
    assert site.rows("/ppp/secret", name="during")


async def test_permanent_trap_error_then_retry_syncs(site: Site, worker: WorkerProcess) -> None:
    # Twice: a converge that used a remembered profile checks it and tries once more after a
    # refusal; the trap left over (when the profile was checked first) is cleared below.
    site.sim.trap_next(path="/ppp/secret/add", n=2, message="failure: pool exhausted", category=1)
    created = await site.subscriber(username="unlucky")

    async def errored() -> bool:
        return (await site.status(created["id"]))["sync_status"] == "error"

    await eventually(errored, what="error status")
    site.sim.clear_faults()
    row = await site.status(created["id"])
    assert row["sync_error_message"] == "failure: pool exhausted"
    await site.call("POST", f"/subscribers/{created['id']}/retry")
    await site.synced(created["id"])
    assert site.rows("/ppp/secret", name="unlucky")


async def test_ghost_success_heals(site: Site, worker: WorkerProcess) -> None:
    site.sim.ghost_next(path="/ppp/secret/add")
    created = await site.subscriber(username="ghosted")
    await site.synced(created["id"])
    assert len(site.rows("/ppp/secret", name="ghosted")) == 1


async def test_worker_logs_are_json_with_ids_and_no_secrets(
    site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="logged", password="Very-Secret-pw9")
    await site.synced(created["id"])

    def mine() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("subscriber_id") == created["id"]]

    async def logged() -> bool:
        return bool(mine())

    # Another job's run of the same router may have synced it first (sync/batch.py): its own
    # job then logs when it runs, a moment later.
    await eventually(logged, what="the subscriber's job logged")
    assert all(line["job"] == "addUser" for line in mine())
    assert all(line.get("router_id") == site.router["id"] for line in mine())
    assert "Very-Secret-pw9" not in worker.output() and "router-pw" not in worker.output()
