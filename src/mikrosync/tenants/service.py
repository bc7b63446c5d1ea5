"""Tenant and staff-user operations, shared by the API and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, NotFound
from mikrosync.security.passwords import hash_password, verify_password
from mikrosync.tenants.access import Principal
from mikrosync.tenants.models import Role, StaffUser, Tenant


async def create_tenant(session: AsyncSession, *, slug: str, name: str) -> Tenant:
    if await find_tenant_by_slug(session, slug=slug) is not None:
        raise Conflict(f"a tenant with slug {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name, reconcile_policy={})
    session.add(tenant)
    await session.commit()
    return tenant


async def find_tenant_by_slug(session: AsyncSession, *, slug: str) -> Tenant | None:
    result = await session.scalars(select(Tenant).where(Tenant.slug == slug))
    return result.one_or_none()


async def get_tenant(session: AsyncSession, *, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


async def list_tenants(session: AsyncSession) -> Sequence[Tenant]:
    return (await session.scalars(select(Tenant).order_by(Tenant.id))).all()


async def create_staff_user(
    session: AsyncSession,
    *,
    tenant_id: int | None,
    email: str,
    password: str,
    role: Role,
) -> StaffUser:
    """A tenant's staff user, or a platform admin when tenant_id is None."""
    existing = await session.scalars(select(StaffUser).where(StaffUser.email == email))
    if existing.one_or_none() is not None:
        raise Conflict(f"a user with email {email!r} already exists")
    user = StaffUser(
        tenant_id=tenant_id,
        email=email,
        password_hash=hash_password(password),
        role=Role.OWNER if tenant_id is None else role,
        is_platform_admin=tenant_id is None,
    )
    session.add(user)
    await session.commit()
    return user


async def list_staff_users(session: AsyncSession, *, tenant_id: int) -> Sequence[StaffUser]:
    query = select(StaffUser).where(StaffUser.tenant_id == tenant_id).order_by(StaffUser.id)
    return (await session.scalars(query)).all()


async def authenticate(session: AsyncSession, *, email: str, password: str) -> StaffUser | None:
    """The active user with this email and password, else None (never says which was wrong)."""
    result = await session.scalars(select(StaffUser).where(StaffUser.email == email.lower()))
    user = result.one_or_none()
    if not verify_password(password, user.password_hash if user else None):
        return None
    assert user is not None
    if not user.is_active:
        return None
    if user.tenant_id is not None:
        tenant = await session.get(Tenant, user.tenant_id)
        if tenant is None or not tenant.is_active:
            return None
    return user


async def load_principal(session: AsyncSession, *, user_id: int) -> Principal | None:
    """The Principal of a token's user, or None if the user is gone or deactivated."""
    user = await session.get(StaffUser, user_id)
    if user is None or not user.is_active:
        return None
    return Principal(
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        tenant_id_or_none=user.tenant_id,
        is_platform_admin=user.is_platform_admin,
    )
