"""Router adoption: the logins a router already has become subscribers, tagged as ours.

`preview` reads the router (one print per menu) and plans (`adopt_plan.py`); it writes
nothing, so it is the whole of a dry run. `adopt` carries a plan out, chunk by chunk:

1. The chunk's rows are created `pending` in ONE transaction, through the same bulk path
   and checks as any new subscriber (disabled logins start suspended, reason manual).
   Rows come first because every object we tag must have a row: reconciliation removes
   tagged objects without one (orphans), and an adoption that fails half-way must never
   lead to a customer being deleted.
2. Each login is rewritten exactly as the converge of its row would want it (the same
   `load_desired` and `plan_subscriber`), with the owner tag, by `ensure(take_over=True)`;
   its package's profile likewise, once. This is the only place in mikrosync that takes over
   a foreign object: the operator asked for it by running the import.
3. Rows whose login was tagged are marked synced at version 1 (the router matches them) with
   a timeline event saying they were imported; rows whose login was not are deleted again,
   so no half-adopted subscriber is left behind. A router that stops answering ends the run
   after the current chunk; what was not adopted is reported, and a second run picks it up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import InvalidInput
from mikrosync.onboarding.adopt_plan import AdoptionPlan, Candidate, Skip, plan_adoption
from mikrosync.onboarding.problems import check_problem
from mikrosync.onboarding.router_logins import read_logins
from mikrosync.routeros import RouterClient, RouterOSError, TransientRouterError
from mikrosync.routeros.resources import RateProfile
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.service import (
    DuplicateValue,
    NewSubscriberChecks,
    create_subscribers_bulk,
)
from mikrosync.sync import state
from mikrosync.sync.context import SyncContext
from mikrosync.sync.desired import load_desired
from mikrosync.sync.plan import RouterPlan, plan_subscriber
from mikrosync.tenants.models import Tenant

CHUNK_SIZE = 200
Progress = Callable[[str, int, int | None], None]
"""`progress(phase, done, total)`: "reading" (total unknown) or "adopting"."""


@dataclass(frozen=True)
class Adopted:
    subscriber_id: int
    candidate: Candidate


@dataclass
class AdoptionResult:
    plan: AdoptionPlan
    adopted: list[Adopted] = field(default_factory=list)
    failed: list[Skip] = field(default_factory=list)
    profiles_tagged: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why the run ended early (the router stopped answering), or None."""


async def preview(
    deps: SyncContext, *, tenant_id: int, router: Router, progress: Progress | None = None
) -> AdoptionPlan:
    """Read the router and plan the adoption; writes nothing anywhere."""
    read = 0

    def counted(_path: str) -> None:
        nonlocal read
        read += 1
        if progress is not None and read % 200 == 0:
            progress("reading", read, None)

    logins = await read_logins(deps.client(router), counted)
    if progress is not None:
        progress("reading", read, None)
    async with deps.sessionmaker() as session:
        checks = await NewSubscriberChecks.load(session, tenant_id=tenant_id, router_id=router.id)
    return plan_adoption(logins, checks, router_name=router.name)


async def adopt(
    deps: SyncContext,
    router: Router,
    plan: AdoptionPlan,
    *,
    actor: str,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> AdoptionResult:
    """Carry out `plan` (see the module docstring for the order and why)."""
    result = AdoptionResult(plan)
    async with deps.sessionmaker() as session:
        adopter = _Adopter(deps, deps.client(router), plan, result, actor)
        await adopter.load(session)
        candidates = plan.candidates
        for start in range(0, len(candidates), chunk_size):
            chunk = candidates[start : start + chunk_size]
            if result.stopped is not None:
                result.failed.extend(_not_attempted(chunk, result.stopped))
                continue
            await adopter.adopt(session, chunk)
            if progress is not None:
                progress("adopting", min(start + chunk_size, len(candidates)), len(candidates))
    return result


class _Adopter:
    def __init__(
        self,
        deps: SyncContext,
        client: RouterClient,
        plan: AdoptionPlan,
        result: AdoptionResult,
        actor: str,
    ) -> None:
        self.deps = deps
        self.client = client
        self.plan = plan
        self.result = result
        self.actor = actor
        self.profiles: dict[str, str | None] = {}
        """Profile name -> None once tagged, or why it could not be."""

    async def load(self, session: AsyncSession) -> None:
        """Fresh checks (the plan may be old). They load the tenant's packages into
        `session`, and with the tenant loaded too, `load_desired` finds both there instead
        of querying per row."""
        self.checks = await NewSubscriberChecks.load(
            session, tenant_id=self.plan.tenant_id, router_id=self.plan.router_id
        )
        await session.get(Tenant, self.plan.tenant_id)
        # End the read transaction (the objects stay loaded): an adoption can take minutes
        # and must not pin a database snapshot all that time.
        await session.commit()

    async def adopt(self, session: AsyncSession, chunk: Sequence[Candidate]) -> None:
        fresh = [candidate for candidate in chunk if self._still_new(candidate)]
        if not fresh:
            return
        try:
            rows = await self._create(fresh)
        except IntegrityError as exc:
            # A username taken by another writer since the checks: the chunk was rolled back.
            reason = f"not adopted: the database refused the chunk ({exc.orig})"
            self.result.failed.extend(Skip(c.service, c.login.name, None, reason) for c in fresh)
            return
        by_name = {candidate.data.username: candidate for candidate in fresh}
        pairs = [(row, by_name[row.username]) for row in rows]
        plans = [
            plan_subscriber(await load_desired(session, row, self.deps.vault)) for row, _ in pairs
        ]
        for planned in plans:
            if planned.profile is not None:
                await self._profile(planned.profile)
        outcomes = await asyncio.gather(*(self._tag(planned) for planned in plans))
        await self._settle(pairs, outcomes)

    def _still_new(self, candidate: Candidate) -> bool:
        try:
            self.checks.check(candidate.data)
        except (InvalidInput, DuplicateValue) as exc:
            field_name, reason = check_problem(exc)
            skip = Skip(candidate.service, candidate.login.name, field_name, reason)
            self.result.failed.append(skip)
            return False
        return True

    async def _create(self, chunk: Sequence[Candidate]) -> list[Subscriber]:
        async with self.deps.sessionmaker() as session:
            return await create_subscribers_bulk(
                session,
                checks=self.checks,
                rows=[candidate.data for candidate in chunk],
                vault=self.deps.vault,
                actor=self.actor,
                suspended={c.data.username for c in chunk if c.suspended},
                message=f"adopting the login that router {self.plan.router_name} already has",
            )

    async def _profile(self, profile: RateProfile) -> None:
        if profile.name in self.profiles:
            return
        try:
            await self.client.ensure(profile, take_over=True)
        except RouterOSError as exc:
            self._note_stop(exc)
            self.profiles[profile.name] = f"profile {profile.name!r} not tagged: {exc.message}"
            return
        self.profiles[profile.name] = None
        self.result.profiles_tagged.append(profile.name)

    async def _tag(self, planned: RouterPlan) -> str | None:
        """Tag the login; None when done, else why not."""
        if planned.profile is not None and self.profiles.get(planned.profile.name):
            return self.profiles[planned.profile.name]
        try:
            await self.client.ensure(planned.ensure[0], take_over=True)
        except RouterOSError as exc:
            self._note_stop(exc)
            return exc.message
        return None

    def _note_stop(self, exc: RouterOSError) -> None:
        if isinstance(exc, TransientRouterError) and self.result.stopped is None:
            self.result.stopped = f"router {self.plan.router_name} stopped answering: {exc.message}"

    async def _settle(
        self, pairs: Sequence[tuple[Subscriber, Candidate]], outcomes: Sequence[str | None]
    ) -> None:
        """Mark tagged rows synced with their "imported" event; delete the others."""
        results = list(zip(pairs, outcomes, strict=True))
        tagged = [row for (row, _), outcome in results if outcome is None]
        untagged = [row.id for (row, _), outcome in results if outcome is not None]
        async with self.deps.sessionmaker() as session:
            await state.settle_adopted(
                session,
                [(row.id, row.tenant_id) for row in tagged],
                actor=self.actor,
                message=(
                    f"imported from router {self.plan.router_name}: the login it already had is "
                    "now tagged as mikrosync's"
                ),
            )
            if untagged:
                await session.execute(delete(Subscriber).where(Subscriber.id.in_(untagged)))
            await session.commit()
        for (row, candidate), outcome in results:
            if outcome is None:
                self.result.adopted.append(Adopted(row.id, candidate))
            else:
                login = candidate.login
                self.result.failed.append(Skip(candidate.service, login.name, None, outcome))


def _not_attempted(chunk: Sequence[Candidate], why: str) -> list[Skip]:
    return [Skip(c.service, c.login.name, None, f"not attempted: {why}") for c in chunk]
