"""Packages: CRUD."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mikrosync.api.deps import Admin, Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import OBJECTS
from mikrosync.http.fields import Id
from mikrosync.packages import service
from mikrosync.packages.schemas import PackageCreate, PackageRead, PackageUpdate
from mikrosync.usecases import packages

router = APIRouter(prefix="/packages", tags=["packages"], responses=OBJECTS)


@router.post("", operation_id="createPackage", status_code=status.HTTP_201_CREATED)
async def create_package(
    data: PackageCreate, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> PackageRead:
    """Add a package; `profile_name` defaults to a router-safe form of the name."""
    created = await packages.create_package(
        runtime, session, tenant_id=principal.tenant_id, data=data
    )
    return PackageRead.model_validate(created)


@router.get("", operation_id="listPackages")
async def list_packages(session: SessionDep, principal: Reader) -> list[PackageRead]:
    """The tenant's packages."""
    found = await service.list_packages(session, tenant_id=principal.tenant_id)
    return [PackageRead.model_validate(p) for p in found]


@router.get("/{package_id:int}", operation_id="getPackage")
async def get_package(package_id: Id, session: SessionDep, principal: Reader) -> PackageRead:
    """One package."""
    found = await service.get_package(session, tenant_id=principal.tenant_id, package_id=package_id)
    return PackageRead.model_validate(found)


@router.patch("/{package_id:int}", operation_id="updatePackage")
async def update_package(
    package_id: Id, data: PackageUpdate, session: SessionDep, runtime: RuntimeDep, principal: Admin
) -> PackageRead:
    """Change a package; its router profiles follow (job `syncPackage`)."""
    updated, _ = await packages.update_package(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        package_id=package_id,
        data=data,
        actor=principal.email,
    )
    return PackageRead.model_validate(updated)


@router.delete(
    "/{package_id:int}", operation_id="deletePackage", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_package(package_id: Id, session: SessionDep, principal: Admin) -> Response:
    """Delete a package no subscriber uses."""
    await packages.delete_package(session, tenant_id=principal.tenant_id, package_id=package_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
