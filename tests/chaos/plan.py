"""The run's script, a pure function of the profile (and so of the seed).

Three lists: operator operations (each bound to a subscriber *slot* and to the lane that owns
the slot, so one subscriber's writes are sequential), technician actions and faults, both
triggered when the number of operations started reaches their `at_op`. Wall-clock timing
still varies from run to run; what each subscriber goes through, and in which order, does not.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tests.chaos.profiles import ChaosProfile

SERVICES = ("pppoe", "hotspot", "static")
# Two packages per service (index 0 and 1): a package change always has somewhere to go.
PACKAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "pppoe": (("ppp-10m", "10M/5M"), ("ppp-20m", "20M/10M")),
    "hotspot": (("hs-2m", "2M/1M"), ("hs-4m", "4M/2M")),
    "static": (("st-20m", "20M/20M"), ("st-50m", "50M/50M")),
}
# Foreign PPP secrets seeded on every router (`seed00001`...), some dialled in.
FOREIGN_SECRETS = 24


class OpKind(StrEnum):
    CREATE = "create"
    PACKAGE = "package change"
    SUSPEND = "suspend"
    CONNECT = "connect"
    RENEW = "renew"
    PASSWORD = "password change"
    ADDRESS = "static IP change"
    EXPIRE_SOON = "expiry instant"
    DELETE = "delete"
    RETRY = "retry"
    BULK_RETRY = "bulk retry"
    CLASH_CREATE = "create (name of a foreign login)"


class FaultKind(StrEnum):
    ROUTER_DOWN = "router down/up"
    LATENCY = "latency spike"
    GHOST = "ghost success"
    TRAP = "forced !trap"
    FATAL = "!fatal"
    DROP = "connection dropped mid-reply"
    STALL = "stalled reply"
    REDIS_FLUSHALL = "Redis FLUSHALL"
    REDIS_RESTART = "Redis restart"
    WORKER_KILL = "worker SIGKILL + restart"
    API_CRASH = "API killed between commit and push"
    # Faults in the middle of a burst (issue 13): k matching commands go through first.
    ROUTER_DIES = "router dies mid-pipeline"
    REPLIES_LOST = "replies lost mid-batch (applied)"
    TRAP_ONE_ROW = "!trap on one row of a burst"
    WORKER_KILL_MID_BATCH = "worker SIGKILL mid-batch + restart"


class TechKind(StrEnum):
    OUR_DISABLE = "ours: disable a login"
    OUR_ENABLE_DIAL = "ours: re-enable a suspended login, it dials in"
    OUR_PROFILE = "ours: change a login's profile"
    OUR_PASSWORD = "ours: change a login's password"
    OUR_REMOVE = "ours: remove an object"
    OUR_RENAME = "ours: rename a login"
    OUR_QUEUE_LIMIT = "ours: change a queue's max-limit"
    OUR_PROFILE_RATE = "ours: change a profile's rate-limit"
    FAKE_ORPHAN = "ours: add an object tagged for no subscriber"
    DETAG = "ours: strip the owner tag (it becomes foreign)"
    FOREIGN_ADD = "foreign: add an object"
    FOREIGN_EDIT = "foreign: edit an object"
    FOREIGN_REMOVE = "foreign: remove an object it added"


# Relative weights once the first subscribers exist.
OP_WEIGHTS: dict[OpKind, int] = {
    OpKind.CREATE: 16,
    OpKind.PACKAGE: 13,
    OpKind.SUSPEND: 12,
    OpKind.CONNECT: 10,
    OpKind.RENEW: 7,
    OpKind.PASSWORD: 8,
    OpKind.ADDRESS: 3,
    OpKind.EXPIRE_SOON: 6,
    OpKind.DELETE: 7,
    OpKind.RETRY: 6,
    OpKind.BULK_RETRY: 1,
    OpKind.CLASH_CREATE: 1,
}
FAULT_WEIGHTS: dict[FaultKind, int] = {
    FaultKind.ROUTER_DOWN: 12,
    FaultKind.LATENCY: 11,
    FaultKind.GHOST: 13,
    FaultKind.TRAP: 11,
    FaultKind.FATAL: 10,
    FaultKind.DROP: 12,
    FaultKind.STALL: 4,
    FaultKind.REDIS_FLUSHALL: 4,
    FaultKind.REDIS_RESTART: 4,
    FaultKind.WORKER_KILL: 6,
    FaultKind.API_CRASH: 10,
    FaultKind.ROUTER_DIES: 8,
    FaultKind.REPLIES_LOST: 8,
    FaultKind.TRAP_ONE_ROW: 8,
    FaultKind.WORKER_KILL_MID_BATCH: 6,
}
TECH_WEIGHTS: dict[TechKind, int] = {
    TechKind.OUR_DISABLE: 8,
    TechKind.OUR_ENABLE_DIAL: 8,
    TechKind.OUR_PROFILE: 6,
    TechKind.OUR_PASSWORD: 6,
    TechKind.OUR_REMOVE: 8,
    TechKind.OUR_RENAME: 4,
    TechKind.OUR_QUEUE_LIMIT: 4,
    TechKind.OUR_PROFILE_RATE: 3,
    TechKind.FAKE_ORPHAN: 4,
    TechKind.DETAG: 2,
    TechKind.FOREIGN_ADD: 12,
    TechKind.FOREIGN_EDIT: 10,
    TechKind.FOREIGN_REMOVE: 5,
}
# Router command faults aim at one menu (or command), or at whatever comes next (None).
FAULT_PATHS: tuple[str | None, ...] = (
    None,
    "/ppp/secret",
    "/ppp/secret/add",
    "/ppp/secret/set",
    "/ip/hotspot/user",
    "/queue/simple",
    "/ip/firewall/address-list",
    "/ppp/active",
    "/ppp/profile",
)
# Mid-burst faults aim at writes: what a batch of converges sends back to back.
BURST_PATHS: tuple[str | None, ...] = (
    None,
    "/ppp/secret/add",
    "/ppp/secret/set",
    "/ppp/secret",
    "/ppp/active/remove",
    "/ip/hotspot/user",
    "/queue/simple",
    "/ip/firewall/address-list",
)
# A worker is killed at the cue of any command of a menu (reads included): the cue must come
# while the load runs, and every converge reads before it writes.
CUE_PATHS: tuple[str | None, ...] = (None, "/ppp/secret", "/ppp/active", "/queue/simple")
CRASHABLE = frozenset(
    {
        OpKind.CREATE,
        OpKind.PACKAGE,
        OpKind.SUSPEND,
        OpKind.CONNECT,
        OpKind.RENEW,
        OpKind.PASSWORD,
        OpKind.ADDRESS,
        OpKind.EXPIRE_SOON,
        OpKind.DELETE,
    }
)


@dataclass(frozen=True)
class SlotSpec:
    """A subscriber as the plan creates it."""

    slot: int
    service: str
    router: int
    username: str
    package: int


@dataclass(frozen=True)
class Op:
    index: int
    kind: OpKind
    slot: int
    lane: int
    crash: bool = False
    package: int = 0
    value: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class FaultSpec:
    index: int
    at_op: int
    kind: FaultKind
    router: int = 0
    worker: int = 0
    n: int = 1
    path: str | None = None
    duration_s: float = 0.0
    latency_ms: int = 0
    category: int | None = None
    after: int = 0
    """Mid-burst faults: matching commands let through before the fault fires."""


@dataclass(frozen=True)
class TechAction:
    index: int
    at_op: int
    kind: TechKind
    router: int
    pick: int
    """Seeds the choice of the object acted on (made at run time, from what is there)."""


@dataclass
class Plan:
    profile: ChaosProfile
    slots: dict[int, SlotSpec] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    faults: list[FaultSpec] = field(default_factory=list)
    tech: list[TechAction] = field(default_factory=list)

    def lane_ops(self, lane: int) -> list[Op]:
        return [op for op in self.ops if op.lane == lane]

    def op_counts(self) -> Counter[str]:
        return Counter(str(op.kind) for op in self.ops)


@dataclass
class _SlotState:
    spec: SlotSpec
    suspended: bool = False
    package: int = 0


class _Planner:
    def __init__(self, profile: ChaosProfile) -> None:
        self.profile = profile
        self.rng = random.Random(profile.seed)
        self.plan = Plan(profile)
        self.alive: dict[int, _SlotState] = {}
        self.clashes: Counter[int] = Counter()

    def lane_of(self, slot: int) -> int:
        return slot % self.profile.lanes

    def new_slot(self, service: str, router: int, username: str | None = None) -> SlotSpec:
        slot = len(self.plan.slots)
        name = username or f"c{self.profile.seed}-{slot}"
        spec = SlotSpec(slot, service, router, name, self.rng.randrange(2))
        self.plan.slots[slot] = spec
        return spec

    def add(self, kind: OpKind, slot: int, **extra: Any) -> None:
        lane = self.lane_of(slot) if slot >= 0 else 0
        self.plan.ops.append(Op(len(self.plan.ops), kind, slot, lane, **extra))

    def create(self) -> None:
        service = self.rng.choices(SERVICES, weights=(5, 3, 2))[0]
        spec = self.new_slot(service, self.rng.randrange(self.profile.routers))
        seconds = 0.0
        if self.rng.random() < 0.25:
            seconds = round(self.rng.uniform(2.0, self.profile.expiry_horizon_s), 1)
        self.add(OpKind.CREATE, spec.slot, package=spec.package, seconds=seconds)
        self.alive[spec.slot] = _SlotState(spec, package=spec.package)

    def clash_create(self) -> None:
        router = self.rng.randrange(self.profile.routers)
        self.clashes[router] += 1
        if self.clashes[router] > FOREIGN_SECRETS // 2:
            self.create()
            return
        # Foreign secrets seed00001.. on each router; the clashes take the odd ones.
        name = f"seed{2 * self.clashes[router] - 1:05d}"
        spec = self.new_slot("pppoe", router, username=name)
        self.add(OpKind.CLASH_CREATE, spec.slot, package=spec.package)
        self.alive[spec.slot] = _SlotState(spec, package=spec.package)

    def change(self, kind: OpKind) -> None:
        slot = self.rng.choice(sorted(self.alive))
        state = self.alive[slot]
        service = state.spec.service
        if kind in (OpKind.SUSPEND, OpKind.CONNECT):
            kind = OpKind.CONNECT if state.suspended else OpKind.SUSPEND
        if kind == OpKind.PASSWORD and service == "static":
            kind = OpKind.ADDRESS
        if kind == OpKind.ADDRESS and service != "static":
            kind = OpKind.PASSWORD
        index = len(self.plan.ops)
        if kind == OpKind.SUSPEND:
            state.suspended = True
            self.add(kind, slot)
        elif kind in (OpKind.CONNECT, OpKind.RENEW):
            state.suspended = False
            self.add(kind, slot)
        elif kind == OpKind.PACKAGE:
            state.package = 1 - state.package
            self.add(kind, slot, package=state.package)
        elif kind == OpKind.PASSWORD:
            self.add(kind, slot, value=f"pw-{self.profile.seed}-{index}")
        elif kind == OpKind.ADDRESS:
            self.add(kind, slot, value=address_for(10_000 + index))
        elif kind == OpKind.EXPIRE_SOON:
            self.add(kind, slot, seconds=round(self.rng.uniform(1.0, 8.0), 1))
        elif kind == OpKind.DELETE:
            del self.alive[slot]
            self.add(kind, slot)
        else:
            self.add(kind, slot)

    def operations(self) -> None:
        profile = self.profile
        warmup = min(profile.ops, max(2 * profile.lanes, profile.ops // 20))
        kinds = list(OP_WEIGHTS)
        weights = list(OP_WEIGHTS.values())
        while len(self.plan.ops) < profile.ops:
            if len(self.plan.ops) < warmup or len(self.alive) < profile.lanes:
                self.create()
                continue
            kind = self.rng.choices(kinds, weights=weights)[0]
            if kind == OpKind.CREATE:
                self.create()
            elif kind == OpKind.CLASH_CREATE:
                self.clash_create()
            elif kind == OpKind.BULK_RETRY:
                self.add(kind, -1)
            else:
                self.change(kind)

    def faults(self) -> None:
        profile = self.profile
        kinds = list(FAULT_WEIGHTS)
        # Every kind at least once, then by weight, in a seeded order.
        chosen = kinds[: profile.faults] + self.rng.choices(
            kinds, weights=list(FAULT_WEIGHTS.values()), k=max(0, profile.faults - len(kinds))
        )
        self.rng.shuffle(chosen)
        start = min(profile.ops - 1, max(2 * profile.lanes, profile.ops // 20))
        span = max(1, int(profile.ops * 0.95) - start)
        for index, kind in enumerate(chosen):
            at_op = start + (index * span) // max(1, len(chosen)) + self.rng.randrange(3)
            self.plan.faults.append(self.fault(index, min(at_op, profile.ops - 1), kind))
        self.mark_crashes()

    def fault(self, index: int, at_op: int, kind: FaultKind) -> FaultSpec:
        rng = self.rng
        router = rng.randrange(self.profile.routers)
        spec = FaultSpec(index, at_op, kind, router=router)
        if kind == FaultKind.ROUTER_DOWN:
            return replace(spec, duration_s=round(rng.uniform(0.5, 4.0), 2))
        if kind == FaultKind.LATENCY:
            # Past the workers' 2 s command timeout now and then: a timeout, applied later.
            latency = rng.choice((150, 400, 900, 1500, 2600))
            return replace(spec, latency_ms=latency, duration_s=round(rng.uniform(1.0, 4.0), 2))
        if kind in (FaultKind.GHOST, FaultKind.DROP, FaultKind.FATAL, FaultKind.STALL):
            n = 1 if kind == FaultKind.STALL else rng.randint(1, 3)
            return replace(spec, n=n, path=rng.choice(FAULT_PATHS))
        if kind == FaultKind.TRAP:
            category = rng.choice((None, None, 2))
            return replace(
                spec, n=rng.randint(1, 2), path=rng.choice(FAULT_PATHS), category=category
            )
        if kind in (
            FaultKind.ROUTER_DIES,
            FaultKind.REPLIES_LOST,
            FaultKind.TRAP_ONE_ROW,
            FaultKind.WORKER_KILL_MID_BATCH,
        ):
            return self.burst_fault(spec)
        if kind == FaultKind.REDIS_RESTART:
            return replace(spec, duration_s=round(rng.uniform(0.3, 2.5), 2))
        if kind == FaultKind.WORKER_KILL:
            return replace(
                spec,
                worker=rng.randrange(self.profile.workers),
                duration_s=round(rng.uniform(0.2, 3.0), 2),
            )
        return spec

    def burst_fault(self, spec: FaultSpec) -> FaultSpec:
        rng = self.rng
        spec = replace(spec, after=rng.randint(1, 4), path=rng.choice(BURST_PATHS))
        if spec.kind == FaultKind.ROUTER_DIES:
            return replace(spec, duration_s=round(rng.uniform(0.5, 3.0), 2))
        if spec.kind == FaultKind.REPLIES_LOST:
            return replace(spec, n=rng.randint(1, 3))
        if spec.kind == FaultKind.TRAP_ONE_ROW:
            return replace(spec, category=rng.choice((None, None, 2)))
        return replace(
            spec,
            path=rng.choice(CUE_PATHS),
            duration_s=round(rng.uniform(0.2, 3.0), 2),
        )

    def mark_crashes(self) -> None:
        """Each api_crash fault turns the next crashable operation into a commit whose push
        never happens (what an API process killed right after the commit leaves behind)."""
        ops = self.plan.ops
        taken: set[int] = set()
        for fault in self.plan.faults:
            if fault.kind != FaultKind.API_CRASH:
                continue
            for index in range(fault.at_op, len(ops)):
                if ops[index].kind in CRASHABLE and index not in taken:
                    taken.add(index)
                    ops[index] = replace(ops[index], crash=True)
                    break

    def technician(self) -> None:
        profile = self.profile
        count = profile.ops // profile.tech_every
        kinds = list(TECH_WEIGHTS)
        chosen = kinds[:count] + self.rng.choices(
            kinds, weights=list(TECH_WEIGHTS.values()), k=max(0, count - len(kinds))
        )
        self.rng.shuffle(chosen)
        start = min(profile.ops - 1, max(2 * profile.lanes, profile.ops // 10))
        span = max(1, int(profile.ops * 0.95) - start)
        for index, kind in enumerate(chosen):
            at_op = start + (index * span) // max(1, count)
            router = self.rng.randrange(profile.routers)
            self.plan.tech.append(
                TechAction(index, at_op, kind, router, self.rng.randrange(1 << 30))
            )


def address_for(n: int) -> str:
    """A unique static IP per number (10.64.0.0/10 is plenty)."""
    return f"10.{64 + (n >> 16) % 64}.{(n >> 8) & 0xFF}.{n & 0xFF}"


def build_plan(profile: ChaosProfile) -> Plan:
    planner = _Planner(profile)
    planner.operations()
    planner.faults()
    planner.technician()
    return planner.plan
