"""Listing every owned object costs ONE print, streamed, whatever the table size."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing

import pytest

from mikrosync.routeros import (
    OwnerTag,
    PoolRegistry,
    PppSecret,
    RouterClient,
    RouterConfig,
    RouterTimeout,
)
from mikrosync.simulator import SimRouter

OWNED = 3000
FOREIGN = 500


@pytest.fixture
def ros(registry: PoolRegistry, make_config: Callable[..., RouterConfig]) -> RouterClient:
    """The simulator's client with room to build a 3,500-row reply: the conftest's 0.5 s
    command timeout was overrun on a loaded CI machine (coverage traces the simulator too)
    before the first row left. The stalled-reply test keeps the short timeout."""
    return registry.client(make_config(command_timeout=10.0))


def seed(sim: SimRouter) -> None:
    """Load thousands of secrets through a state dump (adding them one by one is slow)."""
    sim.add_row("/ppp/secret", {"name": "template", "password": "p"})
    state = sim.dump_state()
    table = state["tables"]["/ppp/secret"]
    template = table["items"][0]
    comments: list[str | None] = [
        OwnerTag.subscriber(1 if i % 3 else 12, i).render() for i in range(OWNED)
    ]  # tenant 12 must not leak into tenant 1's prefix
    comments += [
        [None, "mikrosync-legacy", "Mikrosync:t=1:s=1", "mikrosync:t=1:x=1"][i % 4]
        for i in range(FOREIGN)
    ]
    items = []
    for i, comment in enumerate(comments):
        item = {**template, ".id": f"*{i + 1:X}", "name": str(10_000 + i)}
        item.pop("comment", None)
        if comment is not None:
            item["comment"] = comment
        items.append(item)
    table["items"], table["next_id"] = items, len(items) + 1
    sim.load_state(state)


async def test_owned_objects_stream_in_one_print(ros: RouterClient, sim: SimRouter) -> None:
    seed(sim)
    sim.reset_command_log()
    names = [s.name async for s in ros.iter_owned(PppSecret)]
    assert len(names) == OWNED
    assert names[0] == "10000"  # numeric names are not turned into ints
    assert sim.command_log == ["/ppp/secret/print"]


async def test_owned_list_scoped_to_one_tenant(ros: RouterClient, sim: SimRouter) -> None:
    seed(sim)
    sim.reset_command_log()
    secrets = await ros.list_owned(PppSecret, tenant_id=1)
    assert len(secrets) == OWNED - len(range(0, OWNED, 3))
    assert {s.owner.tenant_id for s in secrets if s.owner} == {"1"}
    assert sim.command_log == ["/ppp/secret/print"]


async def test_stopping_a_stream_early_discards_its_session(
    registry: PoolRegistry, ros: RouterClient, sim: SimRouter
) -> None:
    seed(sim)
    async with aclosing(ros.iter_owned(PppSecret)) as stream:
        async for _ in stream:
            break
    pool = ros.pool
    assert pool.idle_count == 0  # the half-read session was closed, not pooled
    assert await ros.identity() == "MikroTik"
    assert pool.opened == 2


async def test_stalled_stream_times_out(
    registry: PoolRegistry, make_config: Callable[..., RouterConfig], sim: SimRouter
) -> None:
    ros = registry.client(make_config())
    sim.stall_next(path="/ppp/secret/print")
    with pytest.raises(RouterTimeout):
        await ros.list_owned(PppSecret)
    assert ros.pool.idle_count == 0
    assert await ros.list_owned(PppSecret) == []
