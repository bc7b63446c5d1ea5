"""Live sessions and router resources in the console (over ASGI, the simulator over TCP): who
is online per router and per subscriber, "disconnect this session" recorded in the timeline,
and an offline router explained in plain words."""

from __future__ import annotations

from mikrosync.simulator.testing import running_router
from tests.helpers import make_package, make_router, make_subscriber
from tests.plugins.core import TenantFactory
from tests.plugins.web import WebLogin


async def test_sessions_show_and_can_be_ended(factory: TenantFactory, web_login: WebLogin) -> None:
    owner = await factory.staff(await factory.tenant())
    async with running_router(username="admin", password="pw") as sim:
        router = await make_router(
            factory.client, owner, host=sim.host, port=sim.port, password="pw"
        )
        package = await make_package(factory.client, owner, service="hotspot")
        subscriber = await make_subscriber(
            factory.client,
            owner,
            router_id=router["id"],
            package_id=package["id"],
            service="hotspot",
            username="maria",
        )
        sim.add_row("/ip/hotspot/user", {"name": "maria", "password": "x"})
        sim.add_row("/ip/hotspot/user", {"name": "walkin", "password": "x"})
        assert sim.dial_in("hotspot", "maria") and sim.dial_in("hotspot", "walkin")
        web = await web_login(owner)
        live = await web.get(f"/routers/{router['id']}/live")
        assert live.status_code == 200
        text = live.text
        assert 'id="online-count">2<' in text and "CHR" in text and "7." in text
        assert 'data-name="maria"' in text and "02:00:00:" in text  # the MAC
        mine = await web.get(f"/subscribers/{subscriber['id']}/sessions")
        assert 'data-name="maria"' in mine.text and 'data-name="walkin"' not in mine.text
        [active] = [r for r in sim.rows("/ip/hotspot/active") if r["user"] == "maria"]
        ended = await web.post(
            f"/routers/{router['id']}/sessions/disconnect",
            {
                "kind": "hotspot",
                "session_id": active[".id"],
                "detail": "10.0.0.9",
                "back": f"/subscribers/{subscriber['id']}",
            },
        )
        assert ended.status_code == 303
        assert ended.headers["location"] == f"/subscribers/{subscriber['id']}"
        assert [r["user"] for r in sim.rows("/ip/hotspot/active")] == ["walkin"]
        timeline = await web.get(f"/subscribers/{subscriber['id']}")
        assert "disconnectSession" in timeline.text and owner.email in timeline.text
        again = await web.post(
            f"/routers/{router['id']}/sessions/disconnect",
            {"kind": "hotspot", "session_id": active[".id"]},
        )
        assert again.status_code == 303  # already ended: said so, nothing broken
        viewer_page = await web.get(f"/routers/{router['id']}")
        assert 'hx-get="/routers/' in viewer_page.text and "/live" in viewer_page.text


async def test_offline_router_is_explained_in_plain_words(
    factory: TenantFactory, web_login: WebLogin
) -> None:
    owner = await factory.staff(await factory.tenant())
    router = await make_router(factory.client, owner, host="127.0.0.1", port=1)
    web = await web_login(owner)
    live = await web.get(f"/routers/{router['id']}/live")
    assert live.status_code == 200
    assert "Offline" in live.text and "is the router on" in live.text
    stranger = await web_login(await factory.staff(await factory.tenant()))
    assert (await stranger.get(f"/routers/{router['id']}/live")).status_code == 404
