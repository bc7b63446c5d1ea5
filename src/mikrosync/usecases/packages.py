"""Package use cases: create one (its router profiles follow, job `syncPackage`), change one
(its subscribers whose router objects change are recorded as intent in the same transaction),
delete one nobody uses."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, InvalidInput
from mikrosync.jobs.push import push_intents, push_package_sync
from mikrosync.packages import service
from mikrosync.packages.models import Package, Service
from mikrosync.packages.schemas import PackageCreate, PackageUpdate
from mikrosync.runtime import Runtime
from mikrosync.subscribers.intent import record_intent
from mikrosync.subscribers.locking import locked
from mikrosync.subscribers.models import Operation, Subscriber
from mikrosync.subscribers.queries import count_on_package


async def create_package(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, data: PackageCreate
) -> Package:
    created = await service.create_package(session, tenant_id=tenant_id, data=data)
    await push_package_sync(runtime.queue, created.id)
    return created


async def update_package(
    runtime: Runtime,
    session: AsyncSession,
    *,
    tenant_id: int,
    package_id: int,
    data: PackageUpdate,
    actor: str,
) -> tuple[Package, list[Subscriber]]:
    """Change a package; its profiles follow, and so do the subscribers whose own router
    objects must change (a new profile name; a static package's new rate), returned with it."""
    package, affected = await _update(
        session, tenant_id=tenant_id, package_id=package_id, data=data, actor=actor
    )
    await push_package_sync(runtime.queue, package.id)
    await push_intents(runtime.queue, affected)
    return package, affected


async def _update(
    session: AsyncSession, *, tenant_id: int, package_id: int, data: PackageUpdate, actor: str
) -> tuple[Package, list[Subscriber]]:
    package = await service.get_package(session, tenant_id=tenant_id, package_id=package_id)
    changes = data.model_dump(
        exclude_unset=True,
        exclude_none=True,
        exclude={"duration_days", "duration_hours", "duration_minutes"},
    )
    if "name" in changes:
        await service.check_name_free(
            session, tenant_id=tenant_id, name=changes["name"], except_id=package.id
        )
    service_changes = "service" in changes and changes["service"] != package.service
    if service_changes and await count_on_package(session, package.id):
        raise Conflict("the service of a package in use cannot change; create a new package")
    minutes = data.total_minutes()
    if minutes is not None:
        if minutes <= 0:
            raise InvalidInput("duration_days", "the package duration must be longer than zero")
        package.duration_minutes = minutes
    before = (package.profile_name, package.rate_limit)
    for field, value in changes.items():
        setattr(package, field, value)
    affected = await _resync_subscribers(session, package, before, actor)
    await session.commit()
    return package, affected


async def _resync_subscribers(
    session: AsyncSession, package: Package, before: tuple[str, str], actor: str
) -> list[Subscriber]:
    profile_changed = package.profile_name != before[0]
    queue_rate_changed = package.service == Service.STATIC and package.rate_limit != before[1]
    if not (profile_changed or queue_rate_changed):
        return []
    query = select(Subscriber).where(
        Subscriber.package_id == package.id, Subscriber.pending_removal.is_(False)
    )
    affected = list(await locked(session, query))
    for subscriber in affected:
        record_intent(
            session,
            subscriber,
            Operation.UPDATE_USER,
            actor=actor,
            message=f"package {package.name!r} changed",
        )
    return affected


async def delete_package(session: AsyncSession, *, tenant_id: int, package_id: int) -> None:
    package = await service.get_package(session, tenant_id=tenant_id, package_id=package_id)
    in_use = await count_on_package(session, package.id)
    if in_use:
        raise Conflict(
            f"package {package.name!r} is used by {in_use} subscriber(s); move them first"
        )
    await session.delete(package)
    await session.commit()
