"""The router-model bound: the least time the routers themselves allow for a workload.

Per router, with C the minimum number of commands it must receive:

    bound_r = max(C x service time, C x RTT ÷ max-sessions)

(service time is serialised on the router's one CPU; each API session carries one command
per round trip). The workload's bound is the largest bound_r. Minimum commands are counted
honestly: a creation is one `add`; a disconnect is one `set` (disable) plus one `remove` of
the live session; a change of a login's fields is one `set`.

Beside it, the pipelined limit (issue 13): a client that keeps every command of a router in
flight on its connections pays the round trip once, not once per command per session:

    pipelined_r = C x service time + RTT

It is how far pipelining can go, reported beside each bulk figure; the goals are against the
router-model bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.simclient import RouterModel

ADD = 1
SET = 1
DISCONNECT_ONLINE = 2  # set disabled + remove the live session
DISCONNECT_OFFLINE = 1
DELETE_ONLINE = 2  # remove the login + remove the live session


@dataclass(frozen=True)
class Bound:
    seconds: float
    arithmetic: str
    commands: int
    """Minimum commands of the busiest router."""
    pipelined_seconds: float = 0.0
    pipelined_arithmetic: str = ""
    """The pipelined limit of the busiest router (C x service + RTT), with its arithmetic."""


def router_bound(commands: int, model: RouterModel) -> tuple[float, str]:
    cpu = commands * model.service_ms / 1000
    wire = commands * model.rtt_ms / model.max_sessions / 1000
    text = (
        f"max({commands} cmd x {model.service_ms:g} ms = {cpu:.3f} s, "
        f"{commands} cmd x {model.rtt_ms:g} ms ÷ {model.max_sessions} = {wire:.3f} s)"
    )
    return max(cpu, wire), text


def pipelined_bound(commands: int, model: RouterModel) -> tuple[float, str]:
    seconds = commands * model.service_ms / 1000 + model.rtt_ms / 1000
    text = f"{commands} cmd x {model.service_ms:g} ms + {model.rtt_ms:g} ms RTT"
    return seconds, text


def workload_bound(commands_per_router: Mapping[int, int], model: RouterModel) -> Bound:
    """The largest per-router bound, with its arithmetic (and how many routers share it);
    the pipelined limit of the same router beside it."""
    busiest = max(commands_per_router.values())
    seconds, text = router_bound(busiest, model)
    piped, piped_text = pipelined_bound(busiest, model)
    same = sum(1 for c in commands_per_router.values() if c == busiest)
    routers = f" on each of {same} routers" if same > 1 else ""
    return Bound(
        seconds,
        f"{text} = {seconds:.3f} s{routers}",
        busiest,
        piped,
        f"{piped_text} = {piped:.3f} s{routers}",
    )
