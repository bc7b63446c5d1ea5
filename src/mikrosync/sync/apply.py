"""Carry out a RouterPlan through the router client; each step is idempotent.

Re-running `apply_plan` on a router that already matches sends no write, so a job that runs
twice, late, or after a "ghost success" (applied, reply lost) is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mikrosync.routeros import HotspotUser, PppSecret, RouterClient, WriteResult
from mikrosync.sync.errors import TemporaryError
from mikrosync.sync.plan import RouterPlan

LOGIN_KINDS = (PppSecret, HotspotUser)


@dataclass
class ApplyReport:
    """The write commands a converge sent, for the timeline and for "no-op" checks."""

    commands: list[str] = field(default_factory=list)

    def add(self, result: WriteResult) -> None:
        self.commands.extend(result.commands)

    def summary(self) -> str:
        if not self.commands:
            return "router already matched"
        return "; ".join(self.commands)


async def apply_plan(client: RouterClient, plan: RouterPlan) -> ApplyReport:
    report = ApplyReport()
    if plan.profile is not None:
        report.add(await client.ensure(plan.profile))
    for kind in plan.exclusive:
        wanted = {record.key for record in plan.ensure if isinstance(record, kind)}
        for existing in await client.find_owned_by(kind, plan.tag):
            if existing.key not in wanted:
                report.add(await client.remove(kind, existing.key, force=True))
    for record in plan.ensure:
        report.add(await client.ensure(record))
    for kind in plan.remove:
        report.add(await client.remove(kind, plan.tag))
    if plan.kick is not None:
        username = _session_user(plan)
        if username is not None and not await _foreign_login(client, plan, username):
            report.add(await client.kick(plan.kick, username))
            if plan.verify_offline and await client.list_active(plan.kick, username):
                raise TemporaryError(f"{username} is still online after the session was ended")
    return report


async def _foreign_login(client: RouterClient, plan: RouterPlan, username: str) -> bool:
    """On removal: is the login of that name someone else's? Then its session is theirs too,
    and must not be ended (DESIGN §1.6), even if ours was never created or is gone already."""
    if plan.ensure:
        return False
    for kind in plan.remove:
        if kind in LOGIN_KINDS:
            found = await client.find(kind, username)
            if found is not None and found.owner != plan.tag:
                return True
    return False


def _session_user(plan: RouterPlan) -> str | None:
    """The login name whose sessions to end: from the plan's login, or its removed objects."""
    for record in plan.ensure:
        return record.key
    return plan.session_user
