"""Carrying out a tenant's reconcile policy on classified drift.

Who calls it: `reconcile.py`, after `drift.classify`, unless the run is a dry run. Two write
paths only, each the existing one:

- router objects that no subscriber's converge would touch are repaired here through the
  client's idempotent operations: orphans with `remove` (by tag, so nothing untagged is ever
  touched; by key for an extra object of a live subscriber), package profiles with `ensure`
  of the very record `plan_subscriber` produces;
- missing and different subscribers are recorded as intent (`record_intent`, actor
  `reconcile`): their converge, pushed or run by the caller, makes the fix.

Every repair is re-checked against the database first, because the snapshot the drift was
computed from is older than the router read: an orphan whose row was created meanwhile, a
package changed meanwhile, a subscriber whose version moved meanwhile are left to their own
jobs, never "repaired" back to the snapshot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mikrosync.packages.models import Package
from mikrosync.routeros import (
    OwnerTag,
    PermanentRouterError,
    RouterClient,
    TransientRouterError,
    WriteResult,
)
from mikrosync.routers.models import Router
from mikrosync.subscribers.intent import job_for, needs_sync, record_intent
from mikrosync.subscribers.locking import locked
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.context import SyncContext
from mikrosync.sync.drift import Drift, DriftKind, Expected
from mikrosync.sync.sweep import Hint
from mikrosync.tenants.settings_service import ReconcilePolicy

ACTOR = "reconcile"
# Rows per transaction when recording intent, and ids per re-check query (well under the
# databases' bound-parameter limits).
BATCH = 500


@dataclass
class Repairs:
    """What the repair step did, drift by drift."""

    actions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(drift kind, action entry) for the stored report."""
    remaining: Counter[str] = field(default_factory=Counter)
    """Drift left as it was (reported only, blocked, failed), except `unmanaged`."""
    failures: list[str] = field(default_factory=list)
    jobs: list[Hint] = field(default_factory=list)
    """Subscribers recorded as pending, to converge."""
    router_gone: str | None = None

    def note(self, drift: Drift, action: str, result: str, *, remains: bool = False) -> None:
        self.actions.append((drift.kind, drift.item() | {"action": action, "result": result}))
        if remains:
            self.leave(drift)

    def leave(self, drift: Drift) -> None:
        if drift.kind != DriftKind.UNMANAGED:
            self.remaining[drift.kind] += 1

    def fail(self, drift: Drift, action: str, message: str) -> None:
        self.failures.append(f"{drift.menu} {drift.name!r}: {message}")
        self.note(drift, action, f"failed: {message}", remains=True)

    async def write(
        self, drift: Drift, action: str, operation: Callable[[], Awaitable[WriteResult]]
    ) -> None:
        """One router write. After a router stops answering, the rest fail without trying
        (each would wait for its own timeout)."""
        if self.router_gone is not None:
            self.fail(drift, action, f"not tried: {self.router_gone}")
            return
        try:
            result = await operation()
        except PermanentRouterError as exc:
            self.fail(drift, action, exc.message)
        except TransientRouterError as exc:
            self.router_gone = exc.message
            self.fail(drift, action, exc.message)
        else:
            self.note(drift, action, result.action)


async def repair(
    deps: SyncContext,
    router: Router,
    policy: ReconcilePolicy,
    expected: Sequence[Expected],
    drifts: Sequence[Drift],
) -> Repairs:
    """Carry out the policy. Orphans go first: a leftover object with a missing subscriber's
    name would make that subscriber's converge refuse to touch it."""
    repairs = Repairs()
    acted: dict[DriftKind, list[Drift]] = defaultdict(list)
    for drift in drifts:
        if policy.action(drift.kind) == "report":
            repairs.leave(drift)
        elif drift.blocked is not None:
            repairs.note(drift, "none", f"skipped: {drift.blocked}", remains=True)
        else:
            acted[drift.kind].append(drift)
    client = deps.client(router)
    await _remove_orphans(deps, router, client, acted[DriftKind.ORPHAN], repairs)
    await _fix_profiles(deps, client, acted[DriftKind.PROFILE_DRIFT], repairs)
    fixes = acted[DriftKind.MISSING] + acted[DriftKind.DIFFERENT]
    await _record_fixes(deps, expected, fixes, repairs)
    return repairs


def leave_all(drifts: Iterable[Drift]) -> Repairs:
    """A dry run: every drift stays."""
    repairs = Repairs()
    for drift in drifts:
        repairs.leave(drift)
    return repairs


async def _remove_orphans(
    deps: SyncContext, router: Router, client: RouterClient, orphans: list[Drift], repairs: Repairs
) -> None:
    tags = {d.remove[1] for d in orphans if d.remove and isinstance(d.remove[1], OwnerTag)}
    appeared = await _appeared(deps, router, tags) if tags else set()
    for drift in orphans:
        assert drift.remove is not None
        kind, target = drift.remove
        if target in appeared:
            repairs.note(drift, "remove", "skipped: its row was created since the snapshot")
        else:
            await repairs.write(drift, "remove", partial(client.remove, kind, target))


async def _appeared(deps: SyncContext, router: Router, tags: set[OwnerTag]) -> set[OwnerTag]:
    """Tags of orphans whose subscriber (on this router) or package exists after all."""
    refs = {tag: int(tag.ref_id) for tag in tags if tag.ref_id.isdigit()}
    async with deps.sessionmaker() as session:
        subscribers = await _existing(
            session,
            Subscriber.id,
            [ref for tag, ref in refs.items() if tag.role == "s"],
            Subscriber.router_id == router.id,
        )
        packages = await _existing(
            session,
            Package.id,
            [ref for tag, ref in refs.items() if tag.role == "p"],
            Package.tenant_id == router.tenant_id,
        )
    return {
        tag for tag, ref in refs.items() if ref in (subscribers if tag.role == "s" else packages)
    }


async def _existing(
    session: AsyncSession,
    column: InstrumentedAttribute[int],
    ids: Sequence[int],
    *where: ColumnElement[bool],
) -> set[int]:
    """Which of `ids` exist in `column`, asked in batches."""
    found: set[int] = set()
    for start in range(0, len(ids), BATCH):
        query = select(column).where(column.in_(ids[start : start + BATCH]), *where)
        found.update((await session.scalars(query)).all())
    return found


async def _fix_profiles(
    deps: SyncContext, client: RouterClient, drifts: list[Drift], repairs: Repairs
) -> None:
    if not drifts:
        return
    async with deps.sessionmaker() as session:
        ids = [d.package_id for d in drifts if d.package_id is not None]
        rows = (await session.scalars(select(Package).where(Package.id.in_(ids)))).all()
        current = {p.id: (p.profile_name, p.rate_limit) for p in rows}
    for drift in drifts:
        record = drift.ensure
        assert record is not None and drift.package_id is not None
        if current.get(drift.package_id) != (record.name, record.rate_limit):
            repairs.note(drift, "ensure", "skipped: the package changed since the snapshot")
        else:
            await repairs.write(drift, "ensure", partial(client.ensure, record))


async def _record_fixes(
    deps: SyncContext, expected: Sequence[Expected], drifts: list[Drift], repairs: Repairs
) -> None:
    """Record intent for each drifted subscriber still at the snapshot's version, one
    transaction per batch."""
    found: dict[int, list[Drift]] = defaultdict(list)
    for drift in drifts:
        assert drift.subscriber_id is not None
        found[drift.subscriber_id].append(drift)
    versions = {row.desired.subscriber_id: row.desired.version for row in expected}
    ids = sorted(found)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        async with deps.sessionmaker() as session:
            query = select(Subscriber).where(Subscriber.id.in_(batch))
            rows = {row.id: row for row in await locked(session, query)}
            for subscriber_id in batch:
                row = rows.get(subscriber_id)
                if row is None or row.desired_version != versions[subscriber_id] or needs_sync(row):
                    for drift in found[subscriber_id]:
                        repairs.note(drift, "converge", "skipped: changed since the snapshot")
                    continue
                operation = job_for(row)
                message = "drift: " + "; ".join(d.detail for d in found[subscriber_id])
                record_intent(session, row, operation, actor=ACTOR, message=message)
                repairs.jobs.append(Hint(row.id, operation.value, row.router_id))
                for drift in found[subscriber_id]:
                    repairs.note(drift, "converge", "queued")
            await session.commit()
