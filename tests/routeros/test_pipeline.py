"""Pipelined commands on one API connection (`routeros/pipeline.py`), over TCP to the simulator."""

from __future__ import annotations

from mikrosync.routeros import PermanentTrap, RouterClient
from mikrosync.routeros.pipeline import Command, run_pipelined
from mikrosync.simulator import SimRouter


def _adds(n: int) -> list[Command]:
    return [Command("/ppp/secret/add", (f"=name=p{i}", "=password=x")) for i in range(n)]


async def test_replies_come_back_under_their_commands_in_order(
    ros: RouterClient, sim: SimRouter
) -> None:
    async with ros.pool.connection() as connection:
        result = await run_pipelined(connection, _adds(100), window=16)
        assert result.error is None
        ids = [reply.ret for reply in result.replies if reply is not None]
        assert len(ids) == 100
        # In command order: the router numbered the rows as they were added.
        names = {row[".id"]: row["name"] for row in sim.rows("/ppp/secret")}
        assert [names[i] for i in ids] == [f"p{i}" for i in range(100)]
        # The connection is still in step and goes back to the pool.
        printed = await run_pipelined(connection, [Command("/ppp/secret/print", ("?name=p7",))])
        assert printed.replies[0] is not None
        assert printed.replies[0].rows[0]["name"] == "p7"
    assert ros.pool.idle_count == 1


async def test_a_trap_fails_its_own_command_alone(ros: RouterClient, sim: SimRouter) -> None:
    commands = _adds(5)
    commands[2] = Command("/ppp/secret/add", ("=name=p0", "=password=x"))  # a duplicate name
    async with ros.pool.connection() as connection:
        result = await run_pipelined(connection, commands)
    assert result.error is None
    errors = [reply.error if reply else None for reply in result.replies]
    assert isinstance(errors[2], PermanentTrap)
    assert "already" in errors[2].message
    assert [e for i, e in enumerate(errors) if i != 2] == [None] * 4
    assert len(sim.rows("/ppp/secret")) == 4


async def test_a_connection_lost_mid_pipeline_keeps_the_replies_received(
    ros: RouterClient, sim: SimRouter
) -> None:
    sim.drop_next(1, path="/ppp/secret/add")
    async with ros.pool.connection() as connection:
        result = await run_pipelined(connection, _adds(3))
        assert result.error is not None
        assert connection.broken
    # The dropped command ran (its reply was cut) and nothing after it was answered.
    assert result.replies[0] is None or result.replies[0].error is None
    assert any(reply is None for reply in result.replies)
    assert ros.pool.idle_count == 0  # a broken connection is never reused
