"""Packages: list, create, edit and delete. A change is followed by the `syncPackage` job and
by the hints of the subscribers it affects, exactly as `api/routes/packages.py` does."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from mikrosync.errors import Conflict
from mikrosync.http.fields import Id
from mikrosync.packages import service
from mikrosync.packages.models import Package
from mikrosync.packages.schemas import PackageCreate, PackageUpdate
from mikrosync.usecases import packages
from mikrosync.web.audit import audited
from mikrosync.web.deps import Admin, DbDep, Reader, RuntimeDep
from mikrosync.web.forms import Form, reloaded
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router
from mikrosync.web.templating import split_duration

router = web_router("/packages")

_FIELDS = (
    "name",
    "service",
    "rate_limit",
    "duration_days",
    "duration_hours",
    "duration_minutes",
    "price",
    "profile_name",
)


@router.get("")
async def list_packages(request: Request, db: DbDep, user: Reader) -> Response:
    found = await service.list_packages(db, tenant_id=user.tenant_id)
    return render(request, "packages/list.html", {"packages": found, "section": "packages"})


def _render_form(
    request: Request, form: Form, found: Package | None = None, status_code: int = 200
) -> Response:
    context: dict[str, Any] = {"form": form, "p": found, "section": "packages"}
    return render(request, "packages/form.html", context, status_code=status_code)


@router.get("/new")
async def new_package(request: Request, _: Admin) -> Response:
    return _render_form(request, Form(values={"service": "pppoe", "duration_days": "30"}))


@router.post("/new")
async def create_package(request: Request, db: DbDep, runtime: RuntimeDep, user: Admin) -> Response:
    form = await Form.read(request)
    created = await form.submit(
        PackageCreate,
        form.payload(_FIELDS),
        lambda data: packages.create_package(runtime, db, tenant_id=user.tenant_id, data=data),
    )
    if created is None:
        return _render_form(request, form, status_code=422)
    await audited(request, db, user, "package.create", target=created.name)
    return redirect(request, "/packages", flash=f"Package {created.name} created.")


@router.get("/{package_id}/edit")
async def edit_package_form(request: Request, package_id: Id, db: DbDep, user: Admin) -> Response:
    found = await service.get_package(db, tenant_id=user.tenant_id, package_id=package_id)
    values = {name: str(getattr(found, name)) for name in ("name", "service", "rate_limit")}
    values |= {"price": str(found.price), "profile_name": found.profile_name}
    values |= {k: str(v) for k, v in split_duration(found.duration_minutes).items()}
    return _render_form(request, Form(values=values), found)


@router.post("/{package_id}/edit")
async def edit_package(
    request: Request, package_id: Id, db: DbDep, runtime: RuntimeDep, user: Admin
) -> Response:
    found = await service.get_package(db, tenant_id=user.tenant_id, package_id=package_id)
    form = await Form.read(request)
    result = await form.submit(
        PackageUpdate,
        form.payload(_FIELDS),
        lambda data: packages.update_package(
            runtime,
            db,
            tenant_id=user.tenant_id,
            package_id=package_id,
            data=data,
            actor=user.email,
        ),
    )
    if result is None:
        return _render_form(request, form, await reloaded(db, found), status_code=422)
    updated, affected = result
    await audited(request, db, user, "package.edit", target=updated.name)
    note = f" {len(affected)} subscriber(s) follow on their routers." if affected else ""
    return redirect(request, "/packages", flash=f"Package {updated.name} saved.{note}")


@router.post("/{package_id}/delete")
async def delete_package(request: Request, package_id: Id, db: DbDep, user: Admin) -> Response:
    name = (await service.get_package(db, tenant_id=user.tenant_id, package_id=package_id)).name
    try:
        await packages.delete_package(db, tenant_id=user.tenant_id, package_id=package_id)
    except Conflict as exc:
        return redirect(request, "/packages", flash=str(exc), kind="error")
    await audited(request, db, user, "package.delete", target=name)
    return redirect(request, "/packages", flash="Package deleted.")
