"""The name index of the table engine: `print ?=name=x` and `add`'s uniqueness check answer
from it (O(1)), and every reply is the one a scan of the menu gives (the query language's
own evaluation is the reference)."""

from __future__ import annotations

import random
import time

import pytest

from mikrosync.simulator import SimRouter
from mikrosync.simulator.commands import execute
from mikrosync.simulator.errors import TrapError
from mikrosync.simulator.protocol import Reply, Request
from mikrosync.simulator.query import compile_query
from mikrosync.simulator.state import dump_state, load_state, seed_secrets
from mikrosync.simulator.store import Store
from tests.plugins.simulator import freeze_clock

NAMES = ("alice", "7", "007", "yes", "True", "no", "a=b", "Alice", "x y", "1_0", "-3")


def run(
    store: Store, command: str, attributes: dict[str, str] | None = None, *queries: str
) -> list[list[str]]:
    reply = Reply(None)
    request = Request(command=command, attributes=dict(attributes or {}), queries=list(queries))
    try:
        execute(store, request, reply)
    except TrapError as exc:
        return [["!trap", *(t.message for t in exc.traps)]]
    return reply.sentences


def scanned(store: Store, path: str, *queries: str) -> list[list[str]]:
    """What a print answers when every row is tested (no index)."""
    matches = compile_query(queries)
    rows = [row for row in store.printed(path) if matches(row)]
    reply = Reply(None)
    for row in rows:
        reply.row(row)
    if not rows:
        reply.empty()
    reply.done()
    return reply.sentences


def secrets_store() -> Store:
    store = Store("7.18.2", "MikroTik")
    for name in NAMES:
        run(store, "/ppp/secret/add", {"name": name, "service": "pppoe"})
    return store


@pytest.mark.parametrize("form", ["=name={}", "name={}"])
@pytest.mark.parametrize("wanted", [*NAMES, "", "bob", "true", "YES", "07", "10", "x"])
def test_print_by_name_answers_as_the_scan(form: str, wanted: str) -> None:
    store = secrets_store()
    query = form.format(wanted)
    assert run(store, "/ppp/secret/print", {}, query) == scanned(store, "/ppp/secret", query)


def test_index_follows_rename_remove_move_and_readd() -> None:
    store = secrets_store()
    table = store.table("/ppp/secret")
    alice = table.find_by_name("alice")
    assert alice is not None
    run(store, "/ppp/secret/set", {".id": alice, "name": "carol"})
    assert run(store, "/ppp/secret/print", {}, "=name=alice") == [["!empty"], ["!done"]]
    assert run(store, "/ppp/secret/print", {".proplist": ".id"}, "=name=carol") == [
        ["!re", f"=.id={alice}"],
        ["!done"],
    ]
    # the old name is free again, the new one taken
    assert run(store, "/ppp/secret/add", {"name": "carol"})[0][0] == "!trap"
    assert run(store, "/ppp/secret/add", {"name": "alice"})[0][0] == "!done"
    run(store, "/ppp/secret/remove", {".id": "carol"})
    assert table.find_by_name("carol") is None
    assert run(store, "/ppp/secret/add", {"name": "carol"})[0][0] == "!done"
    for wanted in ("carol", "alice", "7"):
        query = f"=name={wanted}"
        assert run(store, "/ppp/secret/print", {}, query) == scanned(store, "/ppp/secret", query)
    run(store, "/ppp/secret/unset", {"numbers": "carol", "value-name": "comment"})
    assert table.find_by_name("carol") is not None


def test_move_keeps_the_print_order() -> None:
    store = Store("7.18.2", "MikroTik")
    for name in ("q1", "q2", "q3"):
        run(store, "/queue/simple/add", {"name": name, "target": "10.0.0.1"})
    run(store, "/queue/simple/move", {"numbers": "q3", "destination": "q1"})
    assert run(store, "/queue/simple/print", {".proplist": ".id"}, "name=q3") == [
        ["!re", "=.id=*3"],
        ["!done"],
    ]
    assert list(store.table("/queue/simple").items) == ["*3", "*1", "*2"]
    assert run(store, "/queue/simple/add", {"name": "q3", "target": "10.0.0.2"})[0][0] == "!trap"


def test_same_name_on_two_servers_prints_both_in_order() -> None:
    store = Store("7.18.2", "MikroTik")
    for server in ("all", "hotspot1", "hotspot2"):
        assert run(store, "/ip/hotspot/user/add", {"name": "guest", "server": server})[0][0] == (
            "!done"
        )
    assert run(store, "/ip/hotspot/user/add", {"name": "guest", "server": "hotspot1"})[0] == [
        "!trap",
        "failure: already have user with this name for this server",
    ]
    rows = run(store, "/ip/hotspot/user/print", {".proplist": "server"}, "name=guest")
    assert rows == [
        ["!re", "=server=all"],
        ["!re", "=server=hotspot1"],
        ["!re", "=server=hotspot2"],
        ["!done"],
    ]


def test_address_list_uniqueness_uses_its_index() -> None:
    store = Store("7.18.2", "MikroTik")
    add = "/ip/firewall/address-list/add"
    assert run(store, add, {"list": "blocked", "address": "10.0.0.1"})[0][0] == "!done"
    assert run(store, add, {"list": "other", "address": "10.0.0.1"})[0][0] == "!done"
    assert run(store, add, {"list": "blocked", "address": "10.0.0.1"})[0][0] == "!trap"


def test_loaded_state_is_indexed() -> None:
    store = secrets_store()
    other = Store("7.18.2", "MikroTik")
    load_state(other, dump_state(store))
    assert run(other, "/ppp/secret/print", {".proplist": ".id"}, "=name=yes") == run(
        store, "/ppp/secret/print", {".proplist": ".id"}, "=name=yes"
    )
    assert run(other, "/ppp/secret/add", {"name": "alice"})[0][0] == "!trap"


async def test_active_print_by_name_starts_every_unseen_session_clock(sim: SimRouter) -> None:
    """Rendering every row used to start the uptime of a session nobody had printed yet (one
    added by hand); the indexed print keeps that."""
    now = freeze_clock(sim)
    sim.add_row("/ppp/secret", {"name": "alice"})
    sim.dial_in("ppp", "alice")
    sim.add_row("/ppp/active", {"name": "bob"})  # a technician's entry: no clock yet
    now[0] += 10
    reply = run(sim.store, "/ppp/active/print", {".proplist": "uptime"}, "=name=alice")
    assert reply == [["!re", "=uptime=10s"], ["!done"]]
    now[0] += 5
    uptimes = {r["name"]: r["uptime"] for r in sim.rows("/ppp/active")}
    assert uptimes == {"alice": "15s", "bob": "5s"}


def test_lookup_cost_does_not_grow_with_the_menu() -> None:
    store = Store("7.18.2", "MikroTik")
    seed_secrets(store, 20_000)
    started = time.perf_counter()
    for i in range(1, 1001):
        run(store, "/ppp/secret/print", {".proplist": ".id,name"}, f"name=seed{i:05d}")
        run(store, "/ppp/secret/add", {"name": f"new{i}"})
    # a scan of 20,000 rows per command took about 0.2 s each, so 2,000 commands minutes
    assert time.perf_counter() - started < 10


def test_random_changes_keep_the_index_and_the_scan_in_agreement() -> None:
    rng = random.Random(9)
    store = Store("7.18.2", "MikroTik")
    pool = ["a", "b", "c", "7", "07", "yes", "x=y", "Yes"]
    path = "/queue/simple"
    for _ in range(1500):
        op = rng.choice(("add", "add", "set", "remove", "move", "unset", "print"))
        name = rng.choice(pool)
        names = [row["name"] for row in store.table(path).items.values()]
        if op == "add":
            run(store, f"{path}/add", {"name": name, "target": "10.0.0.1"})
        elif op in ("set", "remove", "move", "unset") and names:
            target = rng.choice(names)
            if op == "set":
                run(store, f"{path}/set", {"numbers": target, "name": name})
            elif op == "remove":
                run(store, f"{path}/remove", {"numbers": target})
            elif op == "move":
                run(store, f"{path}/move", {"numbers": target, "destination": rng.choice(names)})
            else:
                run(store, f"{path}/unset", {"numbers": target, "value-name": "comment"})
        for form in ("=name={}", "name={}"):
            query = form.format(name)
            assert run(store, f"{path}/print", {}, query) == scanned(store, path, query)
        assert store.table(path).find_by_name(name) == next(
            (i for i, row in store.table(path).items.items() if row.get("name") == name), None
        )
