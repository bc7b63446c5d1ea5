"""The caller's tenant's own settings: suspension profile and reconciliation policy."""

from __future__ import annotations

from fastapi import APIRouter

from mikrosync.api.deps import Admin, Reader, SessionDep
from mikrosync.api.responses import AUTHENTICATED
from mikrosync.tenants.settings_service import (
    TenantSettingsRead,
    TenantSettingsUpdate,
    read_tenant_settings,
    update_tenant_settings,
)

router = APIRouter(prefix="/tenant", tags=["tenants"], responses=AUTHENTICATED)


@router.get("/settings", operation_id="getTenantSettings")
async def read_settings(session: SessionDep, principal: Reader) -> TenantSettingsRead:
    """The suspension profile and the effective reconciliation policy (defaults filled in)."""
    return await read_tenant_settings(session, tenant_id=principal.tenant_id)


@router.patch("/settings", operation_id="updateTenantSettings")
async def update_settings(
    data: TenantSettingsUpdate, session: SessionDep, principal: Admin
) -> TenantSettingsRead:
    """Change them (admins and owners). `reconcile_policy` merges per drift kind."""
    return await update_tenant_settings(session, tenant_id=principal.tenant_id, data=data)
