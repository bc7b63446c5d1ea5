"""The steady stream of changes the failover test makes through the API, and what it saw.

Lanes of operators, each owning its subscribers and writing them one after another (create,
password, package, suspend, connect, delete), as the chaos suite's lanes do; the last accepted
answer of each subscriber is kept in the chaos suite's `Model`, so its invariant checks can
compare the database and the routers with it afterwards.

A change answered 503 (the database is away) is sent again until it is answered: a client
told "retry shortly" does so. A 503 may follow a commit whose answer was lost, so a retried
create that finds its name taken, or a retried delete that finds the row gone, is looked up
again and taken as done. Every other 5xx, any transport error and any request slower than
`REQUEST_BOUND_S` is a problem the test fails on.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.model import Expected, Model
from tests.chaos.plan import SlotSpec

API = "/api/v1"
REQUEST_BOUND_S = 15.0
"""No request may take longer (the API must answer 503, not hang, while the database is down)."""
UNAVAILABLE = "database unavailable; retry shortly"
RETRY_503_S = 0.2
SERVICES = ("pppoe", "hotspot")


@dataclass
class Seen:
    """Every answer of the run, by kind."""

    accepted: Counter[str] = field(default_factory=Counter)
    unavailable: int = 0
    """503s with the database-unavailable message (each was retried)."""
    problems: list[str] = field(default_factory=list)
    slowest_s: float = 0.0
    last_accept: float = 0.0
    """time.monotonic() of the last accepted change."""


@dataclass
class Load:
    client: httpx.AsyncClient
    headers: dict[str, str]
    router_ids: list[int]
    packages: dict[str, list[int]]
    lanes: int = 4
    per_lane: int = 6
    seed: int = 1
    model: Model = field(default_factory=Model)
    seen: Seen = field(default_factory=Seen)

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._lane(lane, stop) for lane in range(self.lanes)))

    async def _lane(self, lane: int, stop: asyncio.Event) -> None:
        rng = random.Random(self.seed * 1000 + lane)
        slots = [lane * self.per_lane + index for index in range(self.per_lane)]
        current: dict[int, Expected] = {}
        generation = 0
        while not stop.is_set():
            slot = rng.choice(slots)
            expected = current.get(slot)
            if expected is None or expected.deleted:
                generation += 1
                expected = current[slot] = self._new(slot, rng, generation)
                await self._create(expected)
            else:
                await self._change(expected, rng)
            await asyncio.sleep(0.05)

    def _new(self, slot: int, rng: random.Random, generation: int) -> Expected:
        service = SERVICES[slot % len(SERVICES)]
        router = slot % len(self.router_ids)
        spec = SlotSpec(slot, service, router, f"fo{slot}g{generation}", rng.randrange(2))
        expected = Expected(spec, self.router_ids[router])
        # Every subscriber ever made stays in the model (a deleted one must be gone).
        self.model.slots[slot * 10_000 + generation] = expected
        return expected

    async def _create(self, expected: Expected) -> None:
        spec = expected.spec
        password = f"pw-{spec.username}"
        body = {
            "router_id": expected.router_id,
            "package_id": self.packages[spec.service][spec.package],
            "service": spec.service,
            "username": spec.username,
            "password": password,
        }
        answer = await self._send("create", "POST", "/subscribers", body)
        if answer is None:
            return
        if answer.status_code == 409:  # a lost answer to a commit: find the row
            answer = await self._find(spec.username)
        if answer is not None:
            expected.accept("create", answer.json(), password=password)

    async def _change(self, expected: Expected, rng: random.Random) -> None:
        base = f"/subscribers/{expected.id}"
        kind = rng.choice(("password", "package", "suspend", "delete", "password", "package"))
        password = None
        if kind == "password":
            password = f"pw-{rng.randrange(10**6)}"
            answer = await self._send(kind, "PATCH", base, {"password": password})
        elif kind == "package":
            choices = self.packages[expected.spec.service]
            other = next(p for p in choices if p != expected.package_id)
            answer = await self._send(kind, "PATCH", base, {"package_id": other})
        elif kind == "suspend":
            kind = "connect" if expected.suspended else "suspend"
            answer = await self._send(kind, "POST", f"{base}/{kind}", None)
        else:
            answer = await self._send(kind, "DELETE", base, None)
        if answer is not None and answer.status_code in (404, 409):
            # Refused on a retry after a 503: the first try was committed; read what it left.
            answer = await self._send("lookup", "GET", base, None)
            if answer is not None and answer.status_code == 404:
                expected.deleted = True
                return
        if answer is not None:
            expected.accept(kind, answer.json(), password=password)

    async def _find(self, username: str) -> httpx.Response | None:
        listing = await self._send("lookup", "GET", "/subscribers", None, {"q": username})
        if listing is None:
            return None
        found = [row for row in listing.json()["items"] if row["username"] == username]
        if len(found) != 1:
            self.seen.problems.append(f"{username}: 409 on create, {len(found)} rows found")
            return None
        return await self._send("lookup", "GET", f"/subscribers/{found[0]['id']}", None)

    async def _send(
        self,
        kind: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """Send until answered other than 503-database-unavailable; None after a problem.
        Answers 2xx, or 404/409 after a 503 (the caller resolves those)."""
        after_503 = False
        while True:
            started = time.monotonic()
            try:
                answer = await self.client.request(
                    method,
                    f"{API}{path}",
                    json=body,
                    params=params,
                    headers=self.headers,
                    timeout=REQUEST_BOUND_S,
                )
            except httpx.HTTPError as exc:
                self.seen.problems.append(f"{kind} {method} {path}: {type(exc).__name__} {exc}")
                return None
            finally:
                self.seen.slowest_s = max(self.seen.slowest_s, time.monotonic() - started)
            code = answer.status_code
            if code == 503:
                if (
                    answer.json().get("detail") != UNAVAILABLE
                    or "retry-after" not in answer.headers
                ):
                    self.seen.problems.append(f"{kind} {method} {path}: 503 {answer.text[:200]}")
                    return None
                self.seen.unavailable += 1
                after_503 = True
                await asyncio.sleep(RETRY_503_S)
                continue
            if code < 300 or (after_503 and code in (404, 409)) or (kind, code) == ("lookup", 404):
                if code < 300 and method != "GET":
                    self.seen.accepted[kind] += 1
                    self.seen.last_accept = time.monotonic()
                return answer
            self.seen.problems.append(f"{kind} {method} {path} -> {code}: {answer.text[:200]}")
            return None
