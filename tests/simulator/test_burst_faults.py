"""Faults in the middle of a burst (issue 13): k commands of a pipelined burst go through,
then the router dies, loses replies, refuses one row, or cues the test to kill the sender.

Each burst is sent as one write of n tagged commands on one connection, without waiting for
a reply, as a pipelining client sends it; the assertions hold whether the router takes the
commands one at a time or overlaps their round trips.
"""

from __future__ import annotations

import asyncio

import pytest

from mikrosync.simulator import SimRouter
from mikrosync.simulator.codec import encode_sentence
from tests.plugins.simulator import RawClient

ADD = "/ppp/secret/add"


async def send_burst(client: RawClient, names: list[str]) -> None:
    """One write holding n tagged adds (tag = the row's position)."""
    data = b"".join(
        encode_sentence((ADD, f"=name={name}", "=password=x", f".tag={i}"))
        for i, name in enumerate(names)
    )
    await client.send_bytes(data)


async def read_replies(client: RawClient, expect: int = 0) -> list[list[list[str]]]:
    """Whole replies (up to `!done`) until `expect` of them came, or the connection ends or
    goes quiet for 3 s."""
    replies: list[list[list[str]]] = []
    current: list[list[str]] = []
    while not expect or len(replies) < expect:
        try:
            sentence = await asyncio.wait_for(client.sentence(), timeout=3.0)
        except (TimeoutError, ConnectionError):
            return replies
        if sentence is None:
            return replies
        current.append(sentence)
        if sentence[0] in ("!done", "!fatal"):
            replies.append(current)
            current = []
    return replies


def secret_names(sim: SimRouter) -> list[str]:
    return [row["name"] for row in sim.rows("/ppp/secret")]


def tag(reply: list[list[str]]) -> str:
    return next(w for w in reply[-1] if w.startswith(".tag=")).removeprefix(".tag=")


async def test_router_dies_mid_pipeline(sim: SimRouter) -> None:
    names = [f"u{i}" for i in range(6)]
    client = await RawClient.open(sim)
    sim.die_after(2, down_s=30.0, path=ADD)
    await send_burst(client, names)
    replies = await read_replies(client)
    await client.close()
    assert [tag(r) for r in replies] == ["0", "1"]  # then the connection was cut
    assert all(r[-1][0] == "!done" for r in replies)
    # The third add was never executed, nor anything after it.
    assert secret_names(sim) == names[:2]
    with pytest.raises(ConnectionRefusedError):
        await RawClient.open(sim)
    await sim.come_up()  # the test's own heal, as chaos does; the timer is then moot
    again = await RawClient.open(sim)
    assert (await again.call("/ppp/secret/print", "?name=u0"))[-1] == ["!done"]
    await again.close()


async def test_router_comes_back_by_itself(sim: SimRouter) -> None:
    client = await RawClient.open(sim)
    sim.die_after(0, down_s=0.2)
    await send_burst(client, ["a", "b"])
    assert await read_replies(client) == []
    await client.close()
    for _ in range(200):  # up again after 0.2 s; poll, no timing assert
        try:
            back = await RawClient.open(sim)
        except ConnectionRefusedError:
            await asyncio.sleep(0.05)
            continue
        await back.close()
        break
    else:
        pytest.fail("the router did not come back up")
    assert secret_names(sim) == []


async def test_stop_while_dead_stays_down(sim: SimRouter) -> None:
    client = await RawClient.open(sim)
    sim.die_after(0, down_s=0.1)
    await send_burst(client, ["a"])
    await read_replies(client)
    await client.close()
    await sim.stop()
    await asyncio.sleep(0.3)  # past the death's timer: a stopped router must not come up
    with pytest.raises(ConnectionRefusedError):
        await RawClient.open(sim)


async def test_replies_lost_for_some_commands_of_a_burst(sim: SimRouter) -> None:
    names = [f"u{i}" for i in range(6)]
    client = await RawClient.open(sim)
    sim.ghost_next(1, path=ADD, after=3)
    await send_burst(client, names)
    replies = await read_replies(client)
    await client.close()
    assert [tag(r) for r in replies] == ["0", "1", "2"]
    # The fourth was applied although its reply never came.
    assert secret_names(sim)[:4] == names[:4]


async def test_trap_on_one_row_of_a_burst(sim: SimRouter) -> None:
    names = [f"u{i}" for i in range(5)]
    client = await RawClient.open(sim)
    sim.trap_next(ADD, 1, message="failure: refused row", after=2)
    await send_burst(client, names)
    replies = await read_replies(client, expect=5)
    assert [tag(r) for r in replies] == ["0", "1", "2", "3", "4"]
    trapped = [r for r in replies if r[0][0] == "!trap"]
    assert [tag(r) for r in trapped] == ["2"]
    assert "=message=failure: refused row" in trapped[0][0]
    assert secret_names(sim) == ["u0", "u1", "u3", "u4"]
    # The connection survives the trap.
    assert (await client.call("/ppp/secret/print", "?name=u0"))[-1][0] == "!done"
    await client.close()


async def test_on_command_cues_the_test_and_the_command_runs(sim: SimRouter) -> None:
    seen: list[int] = []
    client = await RawClient.open(sim)
    sim.on_command(lambda: seen.append(len(secret_names(sim))), after=1, path=ADD)
    await send_burst(client, ["a", "b", "c"])
    replies = await read_replies(client, expect=3)
    await client.close()
    assert [r[-1][0] for r in replies] == ["!done"] * 3
    assert seen == [1]  # called once, when the second add arrived, before it ran
    assert secret_names(sim) == ["a", "b", "c"]
    assert sim.faults.armed == []


async def test_counting_down_does_not_shadow_other_faults(sim: SimRouter) -> None:
    client = await RawClient.open(sim)
    sim.trap_next(ADD, 1, message="failure: later", after=5)
    sim.trap_next(ADD, 1, message="failure: now")
    await send_burst(client, ["a"])
    replies = await read_replies(client, expect=1)
    await client.close()
    assert "=message=failure: now" in replies[0][0]
    assert sim.faults.armed[0].after == 4
