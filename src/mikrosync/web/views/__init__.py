"""The web UI's views, one module per page family; `build_router` assembles them."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from mikrosync.web.deps import csrf_guard
from mikrosync.web.views import (
    audit_log,
    auth,
    charts,
    dashboard,
    jobs,
    live,
    packages,
    payments,
    provider_settings,
    routers,
    settings,
    staff,
    subscribers,
    transfer,
    vouchers,
)


def build_router() -> APIRouter:
    """Every web view, behind the CSRF check (which lets safe methods through)."""
    web = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
    for module in (
        auth,
        dashboard,
        live,
        transfer,
        subscribers,
        payments,
        routers,
        packages,
        vouchers,
        settings,
        provider_settings,
        jobs,
        charts,
        staff,
        audit_log,
    ):
        web.include_router(module.router)
    return web
