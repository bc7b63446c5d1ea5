"""Package reads and creation. The router-side profile is created by the sync engine, not here;
changing or deleting a package touches its subscribers, so those live in
`mikrosync.usecases.packages`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.packages.models import Package
from mikrosync.packages.schemas import (
    DEFAULT_DURATION_DAYS,
    MINUTES_PER_DAY,
    PackageCreate,
)
from mikrosync.routeros.value_rules import profile_name_from


async def get_package(session: AsyncSession, *, tenant_id: int, package_id: int) -> Package:
    package = await session.get(Package, package_id)
    if package is None or package.tenant_id != tenant_id:
        raise NotFound("package not found")
    return package


async def list_packages(session: AsyncSession, *, tenant_id: int) -> Sequence[Package]:
    query = select(Package).where(Package.tenant_id == tenant_id).order_by(Package.name)
    return (await session.scalars(query)).all()


async def check_name_free(
    session: AsyncSession, *, tenant_id: int, name: str, except_id: int | None = None
) -> None:
    query = select(Package.id).where(Package.tenant_id == tenant_id, Package.name == name)
    existing = (await session.scalars(query)).one_or_none()
    if existing is not None and existing != except_id:
        raise Conflict(f"a package named {name!r} already exists")


async def create_package(session: AsyncSession, *, tenant_id: int, data: PackageCreate) -> Package:
    await check_name_free(session, tenant_id=tenant_id, name=data.name)
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
