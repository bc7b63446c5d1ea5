"""syncPackage: make a package's router profile exist, with its rate limit, on every router
that has subscribers on it (DESIGN §3). A change of profile name or of a static package's rate
also needs the subscribers' own objects changed: those go through their converge, as intent."""

from __future__ import annotations

from sqlalchemy import or_, select

from mikrosync.packages.models import Package, Service
from mikrosync.routeros import HotspotProfile, PppProfile
from mikrosync.routeros.resources import RateProfile
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.context import SyncContext
from mikrosync.sync.plan import package_tag


def profile_record(package: Package) -> RateProfile | None:
    """The router profile of a package; static packages have none (their rate is per queue)."""
    comment = package_tag(package.tenant_id, package.id).render()
    if package.service == Service.PPPOE:
        return PppProfile(name=package.profile_name, rate_limit=package.rate_limit, comment=comment)
    if package.service == Service.HOTSPOT:
        return HotspotProfile(
            name=package.profile_name, rate_limit=package.rate_limit, comment=comment
        )
    return None


async def sync_package(deps: SyncContext, package_id: int) -> list[str]:
    """Ensure the profile on each router using the package; returns the write commands sent.

    Router errors propagate (the job retries them); converges ensure the profile too, so a
    router that is down now gets it with its subscribers' next change or reconciliation.
    """
    async with deps.sessionmaker() as session:
        package = await session.get(Package, package_id)
        if package is None:
            return []
        record = profile_record(package)
        if record is None:
            return []
        using = select(Subscriber.router_id).where(
            or_(Subscriber.package_id == package_id, Subscriber.pending_package_id == package_id)
        )
        routers = (
            await session.scalars(select(Router).where(Router.id.in_(using.distinct())))
        ).all()
    commands: list[str] = []
    for router in routers:
        if deps.known_down(router.id):
            continue
        result = await deps.client(router).ensure(record)
        commands.extend(result.commands)
    return commands
