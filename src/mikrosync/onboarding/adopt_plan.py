"""Which of a router's foreign logins become subscribers, and why the others do not.

Pure: takes what `router_logins` read and what `NewSubscriberChecks` loaded, returns an
AdoptionPlan. The dry run shows it; `adopt.py` carries it out. A login is adopted when its
profile is the `profile_name` of exactly one of the tenant's packages of its service, and the
subscriber it becomes passes the API's own checks (name, password, address, duplicates).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import ValidationError

from mikrosync.errors import InvalidInput
from mikrosync.onboarding.problems import Problem, check_problem, validation_problems
from mikrosync.onboarding.router_logins import LOGIN_KINDS, Login, RouterLogins
from mikrosync.packages.models import Package, Service
from mikrosync.routeros import PppSecret
from mikrosync.routeros.resources import RateProfile, same_value
from mikrosync.subscribers.schemas import SubscriberCreate
from mikrosync.subscribers.service import DuplicateValue, NewSubscriberChecks
from mikrosync.sync.plan import package_tag

# A PPP secret may serve any PPP service; mikrosync's are PPPoE (its plan sets service=pppoe),
# so adopting an L2TP or OpenVPN login would cut that user off.
PPPOE_SERVICES = frozenset({None, "any", "pppoe"})
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Candidate:
    """A login that will become a subscriber: as the router has it, and as the new row."""

    service: str
    login: Login
    data: SubscriberCreate
    package: Package

    @property
    def suspended(self) -> bool:
        return self.login.disabled is True


@dataclass(frozen=True)
class ProfileGap:
    """A profile whose logins are not adopted, how many there are, and why."""

    service: str
    profile: str
    users: int
    reason: str


@dataclass(frozen=True)
class ProfileTakeover:
    """A router profile that will be tagged as the package's (and given its rate limit)."""

    service: str
    existing: RateProfile
    package: Package

    @property
    def rate_change(self) -> str | None:
        router_rate = self.existing.rate_limit
        if same_value("rate_limit", self.package.rate_limit, router_rate):
            return None
        return f"rate-limit {router_rate or '(none)'} -> {self.package.rate_limit}"


@dataclass(frozen=True)
class Skip:
    """A login left alone (already a subscriber, another PPP service, invalid value...)."""

    service: str
    name: str
    field: str | None
    reason: str


@dataclass
class AdoptionPlan:
    router_id: int
    router_name: str
    tenant_id: int
    candidates: list[Candidate] = field(default_factory=list)
    takeovers: list[ProfileTakeover] = field(default_factory=list)
    gaps: list[ProfileGap] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    already_ours: int = 0
    read: dict[str, int] = field(default_factory=dict)


def plan_adoption(
    logins: RouterLogins, checks: NewSubscriberChecks, *, router_name: str
) -> AdoptionPlan:
    plan = AdoptionPlan(
        router_id=checks.router_id,
        router_name=router_name,
        tenant_id=checks.tenant_id,
        already_ours=logins.already_ours,
        read=dict(logins.read),
    )
    matcher = _PackageMatcher(checks, logins)
    for service in LOGIN_KINDS:
        by_profile: dict[str, list[Login]] = defaultdict(list)
        for login in logins.foreign.get(service, []):
            if isinstance(login, PppSecret) and login.service not in PPPOE_SERVICES:
                reason = f"a PPP secret for {login.service}, not PPPoE"
                plan.skipped.append(Skip(service, login.name, "service", reason))
            else:
                by_profile[login.profile or DEFAULT_PROFILE].append(login)
        for profile, members in by_profile.items():
            matcher.add(plan, service, profile, members)
    return plan


class _PackageMatcher:
    def __init__(self, checks: NewSubscriberChecks, logins: RouterLogins) -> None:
        self.checks = checks
        self.logins = logins
        self.packages: dict[tuple[str, str], list[Package]] = defaultdict(list)
        for package in sorted(checks.packages.values(), key=lambda p: p.name):
            self.packages[(package.service, package.profile_name)].append(package)

    def add(self, plan: AdoptionPlan, service: str, profile: str, members: list[Login]) -> None:
        """Plan the logins of one profile: all skipped with a gap, or each judged alone."""
        package = self._package(plan, service, profile, len(members))
        if package is None:
            return
        existing = self.logins.profiles.get(service, {}).get(profile)
        tag = package_tag(plan.tenant_id, package.id)
        if existing is not None and existing.owner not in (None, tag):
            reason = f"the profile carries the tag {existing.owner}, not {tag} of {package.name!r}"
            plan.gaps.append(ProfileGap(service, profile, len(members), reason))
            return
        adopted = [login for login in members if self._judge(plan, service, login, package)]
        if adopted and existing is not None:
            takeover = ProfileTakeover(service, existing, package)
            if existing.owner is None or takeover.rate_change is not None:
                plan.takeovers.append(takeover)

    def _package(
        self, plan: AdoptionPlan, service: str, profile: str, users: int
    ) -> Package | None:
        matches = self.packages.get((service, profile), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(repr(p.name) for p in matches)
            reason = f"{len(matches)} packages use this profile ({names}); keep one"
        else:
            reason = f"no {service} package has profile_name {profile!r}"
        plan.gaps.append(ProfileGap(service, profile, users, reason))
        return None

    def _judge(self, plan: AdoptionPlan, service: str, login: Login, package: Package) -> bool:
        """Add the login to the candidates, or to the skipped with the reason."""
        problem = self._candidate(plan, service, login, package)
        if problem is not None:
            plan.skipped.append(Skip(service, login.name, *problem))
        return problem is None

    def _candidate(
        self, plan: AdoptionPlan, service: str, login: Login, package: Package
    ) -> Problem | None:
        try:
            data = SubscriberCreate(
                router_id=self.checks.router_id,
                package_id=package.id,
                service=Service(service),
                username=login.name,
                password=login.password or None,
                remote_address=getattr(login, "remote_address", None) or None,
            )
        except ValidationError as exc:
            problems = validation_problems(exc)
            return problems[0][0], "; ".join(message for _, message in problems)
        try:
            self.checks.check(data)
        except (InvalidInput, DuplicateValue) as exc:
            return check_problem(exc)
        self.checks.claim(data)
        plan.candidates.append(Candidate(service, login, data, package))
        return None
