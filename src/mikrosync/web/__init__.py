"""The operator web UI: server-rendered Jinja2 pages with HTMX for live updates.

Calls the same domain services as the REST API (never its own business rules), logs in with a
signed session cookie, protects every form with a CSRF token, and applies the same roles.
`create_app` calls `mount_web`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mikrosync.web.templating import STATIC_DIR
from mikrosync.web.views import build_router


def mount_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(build_router())
