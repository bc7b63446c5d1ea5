"""Pipelining: tagged commands sent back to back on one connection share the round trip.

A command sent at time s is executed when the router's CPU is free (service time serialised
across every connection), and its reply arrives RTT + queued service after s, in order per
connection. Timing bounds are loose on purpose (the machine may be loaded): the lower bounds are
what the model guarantees, the upper ones only need to tell ~RTT from ~N x RTT.
"""

from __future__ import annotations

import asyncio
import time

from mikrosync.simulator import SimRouter
from mikrosync.simulator.codec import encode_sentence
from tests.plugins.simulator import RawClient

RTT_MS = 20
SERVICE_MS = 0.5
N = 100


def tagged(tag: int, *words: str) -> bytes:
    return encode_sentence([*words, f".tag={tag}"])


async def test_100_pipelined_adds_take_one_round_trip_plus_the_service_times(
    sim: SimRouter, raw: RawClient
) -> None:
    sim.set_latency(RTT_MS)
    sim.set_service_time(SERVICE_MS)
    batch = b"".join(tagged(i, "/ppp/secret/add", f"=name=user{i}") for i in range(N))
    started = time.perf_counter()
    await raw.send_bytes(batch)
    replies = [await raw.reply() for _ in range(N)]
    elapsed = time.perf_counter() - started
    # Replies in order, each with its tag; ids allocated in the order the adds were sent.
    assert replies == [[["!done", f"=ret=*{i + 1:X}", f".tag={i}"]] for i in range(N)]
    assert [r["name"] for r in sim.rows("/ppp/secret")] == [f"user{i}" for i in range(N)]
    # One RTT plus 100 serialised service times (0.07 s), not 100 RTTs (2 s).
    assert elapsed >= (RTT_MS + N * SERVICE_MS) / 1000 - 0.001
    assert elapsed < 0.6, f"{N} pipelined adds took {elapsed:.3f} s"


async def test_each_pipelined_reply_still_takes_a_full_round_trip(
    sim: SimRouter, raw: RawClient
) -> None:
    """A command sent later is answered RTT after its own send, not with the earlier one."""
    rtt = 0.2
    sim.set_latency(rtt * 1000)
    started = time.perf_counter()
    await raw.send_bytes(tagged(1, "/system/identity/print"))
    await asyncio.sleep(rtt / 2)
    second_sent = time.perf_counter()
    await raw.send_bytes(tagged(2, "/system/identity/print"))
    first = await raw.reply()
    first_at = time.perf_counter()
    second = await raw.reply()
    second_at = time.perf_counter()
    assert first == [["!re", "=name=MikroTik", ".tag=1"], ["!done", ".tag=1"]]
    assert second == [["!re", "=name=MikroTik", ".tag=2"], ["!done", ".tag=2"]]
    assert first_at - started >= rtt - 0.001
    assert second_at - second_sent >= rtt - 0.001


async def test_two_back_to_back_commands_are_not_answered_faster_than_rtt(
    sim: SimRouter, raw: RawClient
) -> None:
    rtt = 0.1
    sim.set_latency(rtt * 1000)
    started = time.perf_counter()
    await raw.send_bytes(
        tagged(1, "/ppp/secret/add", "=name=a") + tagged(2, "/ppp/secret/add", "=name=b")
    )
    assert await raw.reply() == [["!done", "=ret=*1", ".tag=1"]]
    assert time.perf_counter() - started >= rtt - 0.001
    assert await raw.reply() == [["!done", "=ret=*2", ".tag=2"]]
    assert time.perf_counter() - started >= rtt - 0.001


async def test_service_time_is_serialised_across_pipelining_connections(sim: SimRouter) -> None:
    clients = [await RawClient.open(sim) for _ in range(3)]
    service = 0.02
    sim.set_service_time(service * 1000)
    per_client = 5

    async def pipeline(client: RawClient, c: int) -> list[list[list[str]]]:
        await client.send_bytes(
            b"".join(tagged(i, "/ppp/secret/add", f"=name=c{c}u{i}") for i in range(per_client))
        )
        return [await client.reply() for _ in range(per_client)]

    started = time.perf_counter()
    results = await asyncio.gather(*(pipeline(c, n) for n, c in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for result in results:
        assert [r[-1][-1] for r in result] == [f".tag={i}" for i in range(per_client)]
    assert len(sim.rows("/ppp/secret")) == 3 * per_client
    assert elapsed >= 3 * per_client * service - 0.001  # 15 x 20 ms, one at a time
    for client in clients:
        await client.close()


async def test_login_and_commands_pipelined_before_its_reply(sim: SimRouter) -> None:
    """Commands are executed in order, so ones sent right behind `/login` find it done."""
    client = await RawClient.open(sim, login=False)
    await client.send_bytes(
        encode_sentence(["/login", "=name=admin", "=password=pw"])
        + tagged(1, "/system/identity/print")
    )
    assert await client.reply() == [["!done"]]
    assert await client.reply() == [["!re", "=name=MikroTik", ".tag=1"], ["!done", ".tag=1"]]
    await client.close()


async def test_pipelined_trap_and_empty_keep_their_tags_and_order(
    sim: SimRouter, raw: RawClient
) -> None:
    sim.trap_next("/ppp/secret/add", message="failure: busy")
    await raw.send_bytes(
        tagged(1, "/ppp/secret/add", "=name=a")
        + tagged(2, "/ppp/secret/print", "?=name=nobody")
        + tagged(3, "/ppp/secret/add", "=name=a")
        + tagged(4, "/ppp/secret/add", "=name=a")
    )
    assert await raw.reply() == [["!trap", "=message=failure: busy", ".tag=1"], ["!done", ".tag=1"]]
    assert await raw.reply() == [["!empty", ".tag=2"], ["!done", ".tag=2"]]
    assert await raw.reply() == [["!done", "=ret=*1", ".tag=3"]]
    duplicate = "=message=failure: secret with the same name already exists"
    assert await raw.reply() == [["!trap", duplicate, ".tag=4"], ["!done", ".tag=4"]]


async def test_pipelined_quit_answers_earlier_commands_and_drops_later_ones(
    sim: SimRouter, raw: RawClient
) -> None:
    await raw.send_bytes(
        tagged(1, "/ppp/secret/add", "=name=a")
        + tagged(2, "/quit")
        + tagged(3, "/ppp/secret/add", "=name=b")
    )
    assert await raw.reply() == [["!done", "=ret=*1", ".tag=1"]]
    assert await raw.reply() == [["!fatal", "session terminated on request", ".tag=2"]]
    assert await raw.at_eof()
    assert [r["name"] for r in sim.rows("/ppp/secret")] == ["a"]


async def test_stall_in_a_pipeline_answers_the_commands_before_it(
    sim: SimRouter, raw: RawClient
) -> None:
    sim.stall_next(path="/ppp/secret/set")
    await raw.send_bytes(
        tagged(1, "/ppp/secret/add", "=name=a")
        + tagged(2, "/ppp/secret/set", "=.id=a", "=password=x")
        + tagged(3, "/ppp/secret/add", "=name=b")
    )
    assert await raw.reply() == [["!done", "=ret=*1", ".tag=1"]]
    try:
        await asyncio.wait_for(raw.sentence(), 0.2)
    except TimeoutError:
        pass
    else:
        raise AssertionError("a stalled router answered")
    assert [(r["name"], r.get("password", "")) for r in sim.rows("/ppp/secret")] == [("a", "")]
    await raw.close()
    while sim.session_count:  # the client's close ends the stalled connection
        await asyncio.sleep(0.005)


async def test_ghost_in_a_pipeline_applies_it_then_closes(sim: SimRouter, raw: RawClient) -> None:
    sim.ghost_next(path="/ppp/secret/add")
    await raw.send_bytes(
        tagged(1, "/system/identity/print")
        + tagged(2, "/ppp/secret/add", "=name=a")
        + tagged(3, "/ppp/secret/add", "=name=b")
    )
    assert (await raw.reply())[-1] == ["!done", ".tag=1"]
    assert await raw.at_eof()
    assert [r["name"] for r in sim.rows("/ppp/secret")] == ["a"]


async def test_commands_sent_before_the_client_closes_still_run(sim: SimRouter) -> None:
    """A client that gives up (timeout, close) does not undo what reached the router."""
    sim.set_latency(100)
    client = await RawClient.open(sim)
    await client.send_bytes(
        tagged(1, "/ppp/secret/add", "=name=a") + tagged(2, "/ppp/secret/add", "=name=b")
    )
    await client.close()
    while sim.session_count:
        await asyncio.sleep(0.005)
    assert [r["name"] for r in sim.rows("/ppp/secret")] == ["a", "b"]
