"""A process that hosts simulated routers for a benchmark, driven over stdin/stdout.

Why a process of its own: the routers' Python CPU (parsing, table scans) must not share an
event loop with the benchmark driver, and its CPU time must be measurable on its own. Why not
`mikrosync simulate-router`: the benchmarks change knobs at run time (RTT), bring users
online, and need a timestamped log of every command each router executed ("converged on the
router" and "session gone" are read from it).

Protocol: one JSON object per line each way. A request is `{"op": ..., ...}`; the reply is
`{"ok": true, ...}` or `{"ok": false, "error": ...}`. `SimHost` is the driver's side.

The command log (every command a router executed, with the names it touched or asked for)
is taken by wrapping the simulator's `execute` as the connection module calls it:
instrumentation only, every command still runs exactly as the shipped simulator runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mikrosync.simulator import SimConfig, SimRouter
from mikrosync.simulator import connection as sim_connection
from mikrosync.simulator.protocol import Reply, Request
from mikrosync.simulator.store import Store

WRITE_VERBS = frozenset({"add", "set", "remove", "enable", "disable", "unset", "comment"})
NAME_FIELDS = ("name", "user", "address")


@dataclass
class Hosted:
    router: SimRouter
    verbs: Counter[str] = field(default_factory=Counter)


@dataclass
class Host:
    routers: dict[int, Hosted] = field(default_factory=dict)
    by_store: dict[int, int] = field(default_factory=dict)
    write_log: list[tuple[float, int, str, list[str]]] = field(default_factory=list)
    next_index: int = 0

    def names(self, store: Store, request: Request, verb: str) -> list[str]:
        """The names (login, session user, address) a command touches or asks for."""
        if verb in ("print", "getall"):
            return [
                q.split("=", 2)[-1]
                for q in request.queries
                if q.lstrip("=").split("=", 1)[0] in NAME_FIELDS and "=" in q
            ]
        if verb == "add":
            return [request.attributes[k] for k in NAME_FIELDS if k in request.attributes][:1]
        ref = request.attributes.get(".id") or request.attributes.get("numbers") or ""
        menu = request.command.rsplit("/", 1)[0]
        table = store.tables.get(menu)
        if table is None:
            return []
        found = []
        for part in ref.split(","):
            row = table.items.get(part)
            if row is None:
                found.append(part)
                continue
            found.extend(str(row[k]) for k in NAME_FIELDS if k in row)
        return found


HOST = Host()
_original_execute = sim_connection.execute  # type: ignore[attr-defined]


def _traced_execute(store: Store, request: Request, reply: Reply) -> None:
    index = HOST.by_store.get(id(store))
    if index is None:
        _original_execute(store, request, reply)
        return
    verb = request.command.rsplit("/", 1)[-1]
    names = HOST.names(store, request, verb)
    _original_execute(store, request, reply)  # raises for a trap: nothing was applied
    HOST.routers[index].verbs[request.command] += 1
    HOST.write_log.append((time.time(), index, request.command, names))


sim_connection.execute = _traced_execute  # type: ignore[attr-defined]


async def _start(request: dict[str, Any]) -> dict[str, Any]:
    indexes, ports = [], []
    for spec in request["routers"]:
        router = SimRouter(SimConfig(**spec))
        await router.start(host="127.0.0.1", port=0)
        index = HOST.next_index
        HOST.next_index += 1
        HOST.routers[index] = Hosted(router)
        HOST.by_store[id(router.store)] = index
        indexes.append(index)
        ports.append(router.port)
    return {"indexes": indexes, "ports": ports}


async def _stop(request: dict[str, Any]) -> dict[str, Any]:
    for index in request["indexes"]:
        hosted = HOST.routers.pop(index, None)
        if hosted is not None:
            HOST.by_store.pop(id(hosted.router.store), None)
            await hosted.router.stop()
    return {}


def _router(request: dict[str, Any]) -> SimRouter:
    return HOST.routers[int(request["index"])].router


async def _handle(request: dict[str, Any]) -> dict[str, Any]:  # noqa: C901 - a dispatch table
    op = request["op"]
    if op == "start":
        return await _start(request)
    if op == "stop":
        return await _stop(request)
    if op == "down":
        for index in request["indexes"]:
            await HOST.routers[index].router.go_down()
        return {}
    if op == "up":
        for index in request["indexes"]:
            await HOST.routers[index].router.come_up()
        return {}
    if op == "set_latency":
        for index in request["indexes"]:
            HOST.routers[index].router.set_latency(float(request["ms"]))
        return {}
    if op == "add_row":
        return {"id": _router(request).add_row(request["path"], request["values"])}
    if op == "dial_in":
        router = _router(request)
        return {"online": sum(router.dial_in(request["kind"], n) for n in request["names"])}
    if op == "count":
        return {"count": len(_router(request).store.table(request["path"]).items)}
    if op == "load_state":
        router = _router(request)
        with open(request["file"], encoding="utf-8") as handle:
            router.load_state(json.load(handle))
        return {}
    if op == "write_log":
        since = int(request.get("since", 0))
        return {"entries": HOST.write_log[since:], "next": len(HOST.write_log)}
    if op == "verbs":
        return {"verbs": {str(i): dict(h.verbs) for i, h in HOST.routers.items()}}
    if op == "reset_verbs":
        for hosted in HOST.routers.values():
            hosted.verbs.clear()
        return {}
    if op == "cpu":
        return {"cpu": time.process_time(), "pid": os.getpid()}
    raise ValueError(f"unknown op {op!r}")


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = json.loads(line)
        try:
            reply = {"ok": True, **await _handle(request)}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    for index in list(HOST.routers):
        await _stop({"indexes": [index]})


if __name__ == "__main__":
    asyncio.run(serve())
