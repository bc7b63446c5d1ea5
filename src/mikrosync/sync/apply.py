"""Carry out a RouterPlan through the router client; each step is idempotent.

Re-running `apply_plan` on a router that already matches sends no write, so a job that runs
twice, late, or after a "ghost success" (applied, reply lost) is harmless.

Commands are kept few, without giving up a check that matters:

- the package's profile goes through `ensure_known`: once per router and worker process (and
  `KNOWN_FOR_S`), not per job. If the rest of the plan then fails with a refusal while the
  profile was only remembered (deleted by hand, say), the memory is dropped and the plan runs
  once more with the profile verified;
- a fresh subscriber's objects (`synced_version == 0`) are added first, and found and adopted
  only on "already exists" (a retry after a lost reply, or a foreign login of that name, which
  the ownership check then refuses as always);
- logins are always printed before a `set`: that print is the ownership check (DESIGN §1.6);
- a suspension's kick prints the sessions *after* the login was disabled and removes them; the
  check that none is left is a second print, sent when there was a session to end or when the
  login stays enabled (a suspension profile). With the login blocked and no session listed,
  that print after the block is itself the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mikrosync.routeros import (
    HotspotUser,
    PermanentRouterError,
    PppSecret,
    RouterClient,
    WriteResult,
)
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
    remembered = plan.profile is not None and client.knows(plan.profile)
    try:
        return await _apply(client, plan)
    except PermanentRouterError:
        if not remembered or plan.profile is None:
            raise
        # The profile was only remembered; it may be what the router refused. Look again.
        client.forget(plan.profile)
        return await _apply(client, plan)


async def _apply(client: RouterClient, plan: RouterPlan) -> ApplyReport:
    report = ApplyReport()
    if plan.profile is not None:
        report.add(await client.ensure_known(plan.profile))
    for kind in plan.exclusive:
        wanted = {record.key for record in plan.ensure if isinstance(record, kind)}
        for existing in await client.find_owned_by(kind, plan.tag):
            if existing.key not in wanted:
                report.add(await client.remove(kind, existing.key, force=True))
    for record in plan.ensure:
        report.add(await client.ensure(record, add_first=plan.fresh))
    for kind in plan.remove:
        report.add(await client.remove(kind, plan.tag))
    if plan.kick is not None:
        username = _session_user(plan)
        if username is not None and not await _foreign_login(client, plan, username):
            kicked = await client.kick(plan.kick, username)
            report.add(kicked)
            verify = plan.verify_offline and (kicked.changed or not plan.login_blocked)
            if verify and await client.list_active(plan.kick, username):
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
