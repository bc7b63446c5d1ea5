"""Expiry bites within seconds of `expires_at`; a renewal prevents it; package changes reach
the router's profiles and queues."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from tests.plugins.e2e import Site, WorkerProcess, eventually


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_subscriber_expiring_in_3s_is_cut_with_its_session(
    site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="hourly")
    await site.synced(created["id"])
    assert site.sim.dial_in("ppp", "hourly")
    # Set the expiry once the session is up, so a slow machine cannot let it pass earlier.
    changed = await site.call("PATCH", f"/subscribers/{created['id']}", json={"expires_at": _in(3)})
    expires = datetime.fromisoformat(changed["expires_at"]).timestamp()

    async def cut() -> bool:
        # The secret is disabled first and the live session removed by the next command.
        secret = site.rows("/ppp/secret", name="hourly")
        disabled = bool(secret) and secret[0]["disabled"] == "true"
        return disabled and site.rows("/ppp/active", name="hourly") == []

    await eventually(cut, timeout=20, what="expired secret disabled and its session gone")
    lag = time.time() - expires
    assert lag < 10, f"cut {lag:.1f}s after expiry"
    row = await site.synced(created["id"])
    assert row["is_suspended"] and row["suspend_reason"] == "expired"


async def test_renewed_subscriber_is_not_cut(site: Site, worker: WorkerProcess) -> None:
    created = await site.subscriber(username="renewer", expires_at=_in(3))
    # Renewed at once: the delayed expiry job for the old instant must find nothing to do.
    await site.call("POST", f"/subscribers/{created['id']}/renew")
    first_expiry = datetime.fromisoformat(created["expires_at"]).timestamp()
    await asyncio.sleep(max(0.0, first_expiry - time.time()) + 3)
    row = await site.synced(created["id"])
    assert not row["is_suspended"]
    assert site.rows("/ppp/secret", name="renewer")[0]["disabled"] == "false"


async def test_package_rate_change_reaches_profile_and_static_queue(
    site: Site, worker: WorkerProcess
) -> None:
    pppoe = await site.subscriber(username="home")
    static = await site.subscriber("static", username="shop", static_ip="10.70.0.9")
    await site.synced(pppoe["id"])
    await site.synced(static["id"])
    profile = site.packages["pppoe"]["profile_name"]
    await site.call(
        "PATCH", f"/packages/{site.packages['pppoe']['id']}", json={"rate_limit": "30M/15M"}
    )
    await site.call(
        "PATCH", f"/packages/{site.packages['static']['id']}", json={"rate_limit": "40M/40M"}
    )

    async def applied() -> bool:
        prof = site.rows("/ppp/profile", name=profile)
        queue = site.rows("/queue/simple", name="shop")
        return (
            bool(prof)
            and prof[0]["rate-limit"] == "30M/15M"
            and bool(queue)
            and queue[0]["max-limit"] in ("40M/40M", "40000000/40000000")
        )

    await eventually(applied, what="new rates on the router")
    await site.synced(static["id"])


async def test_scheduled_reconciliation_reverts_a_technician(
    site: Site, worker: WorkerProcess
) -> None:
    created = await site.subscriber(username="tampered")
    await site.call("POST", f"/subscribers/{created['id']}/suspend")
    await site.synced(created["id"])
    [secret] = site.rows("/ppp/secret", name="tampered")
    site.sim.store.table("/ppp/secret").update([secret[".id"]], {"disabled": "false"})  # by hand

    async def reverted() -> bool:
        return site.rows("/ppp/secret", name="tampered")[0]["disabled"] == "true"

    await eventually(reverted, timeout=40, what="the periodic reconcile to disable it again")
