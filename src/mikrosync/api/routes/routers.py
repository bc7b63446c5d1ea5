"""Routers: CRUD. The API password is accepted, never returned."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mikrosync.api.deps import Admin, Reader, SessionDep, VaultDep
from mikrosync.api.responses import OBJECTS
from mikrosync.http.fields import Id
from mikrosync.routers import service
from mikrosync.routers.schemas import RouterCreate, RouterRead, RouterUpdate
from mikrosync.usecases import routers

router = APIRouter(prefix="/routers", tags=["routers"], responses=OBJECTS)


@router.post("", operation_id="createRouter", status_code=status.HTTP_201_CREATED)
async def create_router(
    data: RouterCreate, session: SessionDep, vault: VaultDep, principal: Admin
) -> RouterRead:
    """Add a router; its API password is stored encrypted."""
    created = await service.create_router(
        session, tenant_id=principal.tenant_id, data=data, vault=vault
    )
    return RouterRead.model_validate(created)


@router.get("", operation_id="listRouters")
async def list_routers(session: SessionDep, principal: Reader) -> list[RouterRead]:
    """The tenant's routers with their health."""
    routers = await service.list_routers(session, tenant_id=principal.tenant_id)
    return [RouterRead.model_validate(r) for r in routers]


@router.get("/{router_id:int}", operation_id="getRouter")
async def get_router(router_id: Id, session: SessionDep, principal: Reader) -> RouterRead:
    """One router."""
    found = await service.get_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    return RouterRead.model_validate(found)


@router.patch("/{router_id:int}", operation_id="updateRouter")
async def update_router(
    router_id: Id, data: RouterUpdate, session: SessionDep, vault: VaultDep, principal: Admin
) -> RouterRead:
    """Change a router's connection settings."""
    updated = await service.update_router(
        session, tenant_id=principal.tenant_id, router_id=router_id, data=data, vault=vault
    )
    return RouterRead.model_validate(updated)


@router.delete(
    "/{router_id:int}", operation_id="deleteRouter", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_router(router_id: Id, session: SessionDep, principal: Admin) -> Response:
    """Delete a router that has no subscribers."""
    await routers.delete_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
