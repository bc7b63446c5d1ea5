"""The operators: lanes of API calls, each lane owning its subscribers (writes in order).

An `api_crash` operation goes through the very service function the API route calls, in
its one transaction, and then stops: no job is pushed. That is exactly what an API process
killed between the commit and the push leaves behind (DESIGN §1.3: the sweeper must find it).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.runtime import Runtime
from mikrosync.subscribers import service
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import SubscriberCreate, SubscriberRead, SubscriberUpdate
from tests.chaos.crash import CrashingApi, committed
from tests.chaos.model import Expected, Model
from tests.chaos.plan import Op, OpKind, Plan, address_for

API = "/api/v1"
# Answers that are a correct refusal, not a failure: connect of an expired subscriber.
EXPECTED_REFUSALS = {(OpKind.CONNECT, 409)}


@dataclass
class Outcomes:
    """Per operation kind: accepted, refused (4xx, with codes), failed (5xx or transport)."""

    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    crashed: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


@dataclass
class Progress:
    """Operations started so far; faults and technician actions wait on it."""

    started: int = 0
    done: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def bump(self) -> None:
        self.started += 1
        self.changed.set()

    async def reach(self, count: int) -> None:
        while self.started < count:
            self.changed.clear()
            await self.changed.wait()


@dataclass
class Operators:
    plan: Plan
    client: httpx.AsyncClient
    headers: dict[str, str]
    runtime: Runtime
    tenant_id: int
    actor: str
    router_ids: list[int]
    packages: dict[str, list[int]]
    model: Model
    crasher: CrashingApi | None = None
    """A `mikrosync serve` with the crash hook armed, when the product has the hook."""
    outcomes: Outcomes = field(default_factory=Outcomes)
    progress: Progress = field(default_factory=Progress)
    started_at: float = 0.0

    def expected(self, slot: int) -> Expected:
        if slot not in self.model.slots:
            spec = self.plan.slots[slot]
            self.model.slots[slot] = Expected(spec, router_id=self.router_ids[spec.router])
        return self.model.slots[slot]

    async def run(self) -> None:
        self.started_at = time.monotonic()
        lanes = [self._lane(lane) for lane in range(self.plan.profile.lanes)]
        await asyncio.gather(*lanes)

    async def _lane(self, lane: int) -> None:
        rate = self.plan.profile.rate
        for op in self.plan.lane_ops(lane):
            if rate > 0:
                delay = self.started_at + op.index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            self.progress.bump()
            try:
                await self._one(op)
            finally:
                self.progress.done += 1

    async def _one(self, op: Op) -> None:
        kind = str(op.kind)
        if op.kind == OpKind.BULK_RETRY:
            await self._call(op, "POST", "/subscribers/retry", None, json={})
            return
        expected = self.expected(op.slot)
        creating = op.kind in (OpKind.CREATE, OpKind.CLASH_CREATE)
        if not creating and not expected.created:
            self.outcomes.skipped[kind] += 1  # its create was not accepted
            return
        if op.crash:
            await self._crash(op, expected)
            return
        if op.kind == OpKind.PAY:
            await self._pay(op, expected)
            return
        method, path, body, password = self._request(op, expected)
        await self._call(op, method, path, expected, json=body, password=password)

    async def _pay(self, op: Op, expected: Expected) -> None:
        """A cash payment with a receipt number, sent twice at once (a double-clicked form, a
        replayed callback): one must be recorded, the other answered as a duplicate. The
        model then takes the subscriber as the payment left it (this lane's writes are in
        order)."""
        kind = str(op.kind)
        body = {
            "subscriber_id": expected.id,
            "amount": "10.00",
            "reference": f"chaos-{self.plan.profile.seed}-{op.index}",
        }
        started = time.monotonic()
        try:
            answers = await asyncio.gather(
                *(
                    self.client.post(f"{API}/payments", json=body, headers=self.headers, timeout=60)
                    for _ in range(2)
                )
            )
            state = await self.client.get(
                f"{API}/subscribers/{expected.id}", headers=self.headers, timeout=60
            )
        except Exception as exc:
            self.outcomes.failed[kind] += 1
            self.outcomes.problems.append(f"op {op.index} {kind}: {type(exc).__name__}: {exc}")
            return
        self.outcomes.latencies.append(time.monotonic() - started)
        codes = [answer.status_code for answer in answers]
        if codes != [201, 201] or state.status_code != 200:
            self.outcomes.failed[kind] += 1
            texts = [answer.text[:200] for answer in answers]
            self.outcomes.problems.append(f"op {op.index} {kind} -> {codes}: {texts}")
            return
        recorded = [not answer.json()["duplicate"] for answer in answers]
        if sum(recorded) != 1:
            self.outcomes.problems.append(
                f"op {op.index} {kind}: recorded {sum(recorded)} times out of 2"
            )
        self.outcomes.accepted[kind] += 1
        expected.accept(kind, state.json())

    def _request(
        self, op: Op, expected: Expected
    ) -> tuple[str, str, dict[str, Any] | None, str | None]:
        spec = expected.spec
        base = f"/subscribers/{expected.id}"
        if op.kind in (OpKind.CREATE, OpKind.CLASH_CREATE):
            body = self._create_body(op, expected)
            return "POST", "/subscribers", body, body.get("password")
        if op.kind == OpKind.PACKAGE:
            package_id = self.packages[spec.service][op.package]
            return "PATCH", base, {"package_id": package_id}, None
        if op.kind == OpKind.PASSWORD:
            return "PATCH", base, {"password": op.value}, op.value
        if op.kind == OpKind.ADDRESS:
            return "PATCH", base, {"static_ip": op.value}, None
        if op.kind == OpKind.EXPIRE_SOON:
            moment = now() + timedelta(seconds=op.seconds)
            return "PATCH", base, {"expires_at": moment.isoformat()}, None
        if op.kind == OpKind.DELETE:
            return "DELETE", base, None, None
        action = {
            OpKind.SUSPEND: "suspend",
            OpKind.CONNECT: "connect",
            OpKind.RENEW: "renew",
            OpKind.RETRY: "retry",
        }[op.kind]
        return "POST", f"{base}/{action}", None, None

    def _create_body(self, op: Op, expected: Expected) -> dict[str, Any]:
        spec = expected.spec
        body: dict[str, Any] = {
            "router_id": expected.router_id,
            "package_id": self.packages[spec.service][op.package],
            "service": spec.service,
            "username": spec.username,
        }
        if spec.service == "static":
            body["static_ip"] = address_for(spec.slot)
        else:
            body["password"] = f"pw-{self.plan.profile.seed}-{spec.slot}"
        if op.seconds:
            body["expires_at"] = (now() + timedelta(seconds=op.seconds)).isoformat()
        return body

    async def _call(
        self,
        op: Op,
        method: str,
        path: str,
        expected: Expected | None,
        *,
        json: dict[str, Any] | None,
        password: str | None = None,
    ) -> None:
        kind = str(op.kind)
        started = time.monotonic()
        try:
            response = await self.client.request(
                method, f"{API}{path}", json=json, headers=self.headers, timeout=60
            )
        except Exception as exc:
            self.outcomes.failed[kind] += 1
            self.outcomes.problems.append(f"op {op.index} {kind}: {type(exc).__name__}: {exc}")
            return
        self.outcomes.latencies.append(time.monotonic() - started)
        code = response.status_code
        if code < 300:
            self.outcomes.accepted[kind] += 1
            if expected is not None:
                expected.accept(kind, response.json(), password=password)
            return
        if code >= 500:
            self.outcomes.failed[kind] += 1
        else:
            self.outcomes.refused[f"{kind} ({code})"] += 1
        if code >= 500 or (op.kind, code) not in EXPECTED_REFUSALS:
            self.outcomes.problems.append(
                f"op {op.index} {kind} {method} {path} -> {code}: {response.text[:300]}"
            )

    async def _crash(self, op: Op, expected: Expected) -> None:
        """Commit the intent exactly as the route does, and never push its job."""
        kind = str(op.kind)
        self.outcomes.crashed[kind] += 1
        if self.crasher is not None:
            await self._crash_for_real(op, expected, self.crasher)
            return
        try:
            async with self.runtime.sessionmaker() as session:
                done, password = await self._service_call(op, expected)(session)
        except (Conflict, NotFound, InvalidInput) as exc:
            self.outcomes.refused[f"{kind} (crash path: {type(exc).__name__})"] += 1
            if not (op.kind == OpKind.CONNECT and isinstance(exc, Conflict)):
                self.outcomes.problems.append(f"op {op.index} {kind} (crash path): {exc}")
            return
        self.outcomes.accepted[kind] += 1
        body = SubscriberRead.model_validate(done).model_dump(mode="json")
        expected.accept(f"{kind} (no push)", body, password=password)

    async def _crash_for_real(self, op: Op, expected: Expected, crasher: CrashingApi) -> None:
        """Send the request to an API process that dies after its commit, before its push;
        the model takes what was committed."""
        kind = str(op.kind)
        method, path, body, password = self._request(op, expected)
        response = await crasher.send(method, f"{API}{path}", self.headers, body)
        if response is not None:  # refused before any commit (or push)
            code = response.status_code
            self.outcomes.refused[f"{kind} ({code}, before the crash)"] += 1
            if (op.kind, code) not in EXPECTED_REFUSALS:
                self.outcomes.problems.append(f"op {op.index} {kind} -> {code}: {response.text}")
            return
        row = await committed(
            self.runtime,
            subscriber_id=expected.id,
            router_id=expected.router_id,
            username=expected.spec.username,
        )
        if row is None:
            self.outcomes.refused[f"{kind} (killed before its commit)"] += 1
            return
        self.outcomes.accepted[kind] += 1
        state = SubscriberRead.model_validate(row).model_dump(mode="json")
        expected.accept(f"{kind} (API killed)", state, password=password)

    def _service_call(
        self, op: Op, expected: Expected
    ) -> Callable[[Any], Awaitable[tuple[Subscriber, str | None]]]:
        scope: dict[str, Any] = {"tenant_id": self.tenant_id, "actor": self.actor}
        vault = self.runtime.vault

        async def call(session: Any) -> tuple[Subscriber, str | None]:
            if op.kind == OpKind.CREATE:
                fields = self._create_body(op, expected)
                created = await service.create_subscriber(
                    session,
                    tenant_id=self.tenant_id,
                    data=SubscriberCreate.model_validate(fields),
                    vault=vault,
                    actor=self.actor,
                )
                return created, fields.get("password")
            ids = scope | {"subscriber_id": expected.id}
            if op.kind in (OpKind.PACKAGE, OpKind.PASSWORD, OpKind.ADDRESS, OpKind.EXPIRE_SOON):
                _, _, body, password = self._request(op, expected)
                update = SubscriberUpdate.model_validate(body)
                changed = await service.update_subscriber(session, data=update, vault=vault, **ids)
                return changed, password
            action = {
                OpKind.SUSPEND: service.suspend_subscriber,
                OpKind.CONNECT: service.connect_subscriber,
                OpKind.RENEW: service.renew_subscriber,
                OpKind.DELETE: service.delete_subscriber,
            }[op.kind]
            return await action(session, **ids), None

        return call
