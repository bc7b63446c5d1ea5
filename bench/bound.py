"""The router-model bound: the least time the routers themselves allow for a workload.

Per router, with C the minimum number of commands it must receive:

    bound_r = max(C x service time, C x RTT ÷ max-sessions)

(service time is serialised on the router's one CPU; each API session carries one command
per round trip). The workload's bound is the largest bound_r. Minimum commands are counted
honestly: a creation is one `add`; a disconnect is one `set` (disable) plus one `remove` of
the live session; a change of a login's fields is one `set`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.simclient import RouterModel

ADD = 1
SET = 1
DISCONNECT_ONLINE = 2  # set disabled + remove the live session
DISCONNECT_OFFLINE = 1


@dataclass(frozen=True)
class Bound:
    seconds: float
    arithmetic: str
    commands: int
    """Minimum commands of the busiest router."""


def router_bound(commands: int, model: RouterModel) -> tuple[float, str]:
    cpu = commands * model.service_ms / 1000
    wire = commands * model.rtt_ms / model.max_sessions / 1000
    text = (
        f"max({commands} cmd x {model.service_ms:g} ms = {cpu:.3f} s, "
        f"{commands} cmd x {model.rtt_ms:g} ms ÷ {model.max_sessions} = {wire:.3f} s)"
    )
    return max(cpu, wire), text


def workload_bound(commands_per_router: Mapping[int, int], model: RouterModel) -> Bound:
    """The largest per-router bound, with its arithmetic (and how many routers share it)."""
    busiest = max(commands_per_router.values())
    seconds, text = router_bound(busiest, model)
    same = sum(1 for c in commands_per_router.values() if c == busiest)
    routers = f" on each of {same} routers" if same > 1 else ""
    return Bound(seconds, f"{text} = {seconds:.3f} s{routers}", busiest)
