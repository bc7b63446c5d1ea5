"""REST API of live sessions against the simulator over TCP."""

from __future__ import annotations

import httpx

from mikrosync.simulator.testing import running_router
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import Staff


async def test_live_sessions_and_disconnect(client: httpx.AsyncClient, owner: Staff) -> None:
    async with running_router(username="admin", password="pw") as sim:
        router = await make_router(client, owner, host=sim.host, port=sim.port, password="pw")
        package = await make_package(client, owner, service="pppoe")
        subscriber = await make_subscriber(
            client, owner, router_id=router["id"], package_id=package["id"], username="ana"
        )
        sim.add_row("/ppp/secret", {"name": "ana", "password": "x"})
        assert sim.dial_in("ppp", "ana")
        live = await client.get(f"/api/v1/routers/{router['id']}/live", headers=owner.headers)
        body = live.json()
        assert body["online"] and body["resource"]["board"] == "CHR"
        [session] = body["sessions"]
        assert session["name"] == "ana" and session["kind"] == "ppp" and session["caller_id"]
        mine = await client.get(
            f"/api/v1/subscribers/{subscriber['id']}/sessions", headers=owner.headers
        )
        assert [s["name"] for s in mine.json()["sessions"]] == ["ana"]
        ended = await client.post(
            f"/api/v1/routers/{router['id']}/sessions/disconnect",
            json={"kind": "ppp", "session_id": session["id"]},
            headers=owner.headers,
        )
        assert ended.status_code == 200, ended.text
        assert ended.json()["recorded_on"] == "subscriber ana"
        assert sim.rows("/ppp/active") == []
        events = await client.get(
            f"/api/v1/subscribers/{subscriber['id']}/events", headers=owner.headers
        )
        assert "disconnectSession" in events.text
        gone = await client.post(
            f"/api/v1/routers/{router['id']}/sessions/disconnect",
            json={"kind": "ppp", "session_id": session["id"]},
            headers=owner.headers,
        )
        assert gone.status_code == 404
        bad = await client.post(
            f"/api/v1/routers/{router['id']}/sessions/disconnect",
            json={"kind": "ppp", "session_id": "1; /system/reboot"},
            headers=owner.headers,
        )
        assert bad.status_code == 422
