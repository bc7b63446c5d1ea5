"""The demo's data (issue 17, items 13 and 18), on the seed function and the demo network
directly: package-length expiries, and one subscriber the router really refuses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mikrosync.cli.demo import seed
from mikrosync.cli.demo.network import HANDMADE_LOGIN, ROUTER_PASSWORD, ROUTER_USER, DemoNetwork
from mikrosync.clock import now
from mikrosync.packages.models import Package
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.converge import Attempt, converge_subscriber
from mikrosync.sync.errors import PermanentError
from tests.helpers import sync_deps


async def test_demo_expiries_follow_the_package_and_one_subscriber_ends_in_error(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    network = DemoNetwork(tmp_path / "routers")
    await seed.reset(runtime)
    await network.start(1)
    try:
        addresses = [
            seed.RouterAddress(name, sim.host, sim.port, ROUTER_USER, ROUTER_PASSWORD)
            for name, sim in zip(network.names, network.routers, strict=True)
        ]
        made = await seed.seed(runtime, addresses, 40)
        async with runtime.sessionmaker() as session:
            plans = {p.id: p for p in await session.scalars(select(Package))}
        start = now()
        for subscriber in made:
            assert subscriber.expires_at is not None
            term = timedelta(minutes=plans[subscriber.package_id].duration_minutes)
            # Item 13: never longer than the package ("Hotspot 1 hour" lasts an hour at most).
            assert subscriber.expires_at - start <= term + timedelta(minutes=1), (
                subscriber.username,
                plans[subscriber.package_id].name,
            )
        hotspot = [s for s in made if plans[s.package_id].name == "Hotspot 1 hour"]
        assert hotspot and all(s.expires_at - start <= timedelta(hours=1) for s in hotspot)  # type: ignore[operator]

        # Item 18: the login made by hand on the router is refused, so the demo shows Error.
        [handmade] = [s for s in made if s.username == HANDMADE_LOGIN]
        async with sync_deps(runtime, settings, timeout_s=5) as deps:
            with pytest.raises(PermanentError, match="not touching it"):
                await converge_subscriber(deps, handmade.id, Attempt("addUser"))
        async with runtime.sessionmaker() as session:
            row = await session.get(Subscriber, handmade.id)
            assert row is not None
            assert row.sync_status == "error"
            assert "not touching it" in (row.sync_error_message or "")
    finally:
        await network.stop()
        await seed.reset(runtime)
