"""Package operations. The router-side profile is created by the sync engine, not here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.packages.models import Package, Service
from mikrosync.packages.schemas import (
    DEFAULT_DURATION_DAYS,
    MINUTES_PER_DAY,
    PackageCreate,
    PackageUpdate,
)
from mikrosync.subscribers.intent import record_intent
from mikrosync.subscribers.locking import locked
from mikrosync.subscribers.models import Operation, Subscriber
from mikrosync.validators import profile_name_from


async def get_package(session: AsyncSession, *, tenant_id: int, package_id: int) -> Package:
    package = await session.get(Package, package_id)
    if package is None or package.tenant_id != tenant_id:
        raise NotFound("package not found")
    return package


async def list_packages(session: AsyncSession, *, tenant_id: int) -> Sequence[Package]:
    query = select(Package).where(Package.tenant_id == tenant_id).order_by(Package.name)
    return (await session.scalars(query)).all()


async def _check_name_free(
    session: AsyncSession, *, tenant_id: int, name: str, except_id: int | None = None
) -> None:
    query = select(Package.id).where(Package.tenant_id == tenant_id, Package.name == name)
    existing = (await session.scalars(query)).one_or_none()
    if existing is not None and existing != except_id:
        raise Conflict(f"a package named {name!r} already exists")


async def _subscriber_count(session: AsyncSession, package_id: int) -> int:
    query = select(func.count()).where(
        or_(Subscriber.package_id == package_id, Subscriber.pending_package_id == package_id)
    )
    return (await session.execute(query)).scalar_one()


async def create_package(session: AsyncSession, *, tenant_id: int, data: PackageCreate) -> Package:
    await _check_name_free(session, tenant_id=tenant_id, name=data.name)
    minutes = data.total_minutes()
    if minutes is None:
        minutes = DEFAULT_DURATION_DAYS * MINUTES_PER_DAY
    if minutes <= 0:
        raise InvalidInput("duration_days", "the package duration must be longer than zero")
    package = Package(
        tenant_id=tenant_id,
        name=data.name,
        service=data.service,
        rate_limit=data.rate_limit,
        duration_minutes=minutes,
        price=data.price,
        profile_name=data.profile_name or profile_name_from(data.name),
    )
    session.add(package)
    await session.commit()
    return package


async def update_package(
    session: AsyncSession, *, tenant_id: int, package_id: int, data: PackageUpdate, actor: str
) -> tuple[Package, list[Subscriber]]:
    """Change a package. Returns it with the subscribers whose own router objects must change
    (a new profile name; a static package's new rate), recorded as intent in the same
    transaction."""
    package = await get_package(session, tenant_id=tenant_id, package_id=package_id)
    changes = data.model_dump(
        exclude_unset=True,
        exclude_none=True,
        exclude={"duration_days", "duration_hours", "duration_minutes"},
    )
    if "name" in changes:
        await _check_name_free(
            session, tenant_id=tenant_id, name=changes["name"], except_id=package.id
        )
    service_changes = "service" in changes and changes["service"] != package.service
    if service_changes and await _subscriber_count(session, package.id):
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
    package = await get_package(session, tenant_id=tenant_id, package_id=package_id)
    in_use = await _subscriber_count(session, package.id)
    if in_use:
        raise Conflict(
            f"package {package.name!r} is used by {in_use} subscriber(s); move them first"
        )
    await session.delete(package)
    await session.commit()
