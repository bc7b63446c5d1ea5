"""Tenants (platform admins only) and a tenant's staff users (owners)."""

from __future__ import annotations

from fastapi import APIRouter, status

from mikrosync.api.deps import Owner, PlatformAdmin, SessionDep
from mikrosync.api.responses import OBJECTS
from mikrosync.http.fields import Id
from mikrosync.tenants import service
from mikrosync.tenants.schemas import StaffUserCreate, StaffUserRead, TenantCreate, TenantRead

router = APIRouter(tags=["tenants"], responses=OBJECTS)


@router.post("/tenants", operation_id="createTenant", status_code=status.HTTP_201_CREATED)
async def create_tenant(data: TenantCreate, session: SessionDep, _: PlatformAdmin) -> TenantRead:
    """Create a tenant (an ISP)."""
    tenant = await service.create_tenant(session, slug=data.slug, name=data.name)
    return TenantRead.model_validate(tenant)


@router.get("/tenants", operation_id="listTenants")
async def list_tenants(session: SessionDep, _: PlatformAdmin) -> list[TenantRead]:
    """Every tenant."""
    return [TenantRead.model_validate(t) for t in await service.list_tenants(session)]


@router.post(
    "/tenants/{tenant_id:int}/users",
    operation_id="createTenantUser",
    status_code=status.HTTP_201_CREATED,
)
async def create_tenant_user(
    tenant_id: Id, data: StaffUserCreate, session: SessionDep, _: PlatformAdmin
) -> StaffUserRead:
    """Create a staff user in a tenant (e.g. its first owner)."""
    await service.get_tenant(session, tenant_id=tenant_id)
    user = await service.create_staff_user(
        session, tenant_id=tenant_id, email=data.email, password=data.password, role=data.role
    )
    return StaffUserRead.model_validate(user)


@router.get("/users", operation_id="listUsers")
async def list_users(session: SessionDep, principal: Owner) -> list[StaffUserRead]:
    """The caller's tenant's staff users."""
    users = await service.list_staff_users(session, tenant_id=principal.tenant_id)
    return [StaffUserRead.model_validate(u) for u in users]


@router.post("/users", operation_id="createUser", status_code=status.HTTP_201_CREATED)
async def create_user(
    data: StaffUserCreate, session: SessionDep, principal: Owner
) -> StaffUserRead:
    """Add a staff user to the caller's tenant."""
    user = await service.create_staff_user(
        session,
        tenant_id=principal.tenant_id,
        email=data.email,
        password=data.password,
        role=data.role,
    )
    return StaffUserRead.model_validate(user)
