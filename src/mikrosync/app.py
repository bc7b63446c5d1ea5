"""create_app(settings): the composition root of the api+web process."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from mikrosync import __version__
from mikrosync.api.audit import install_api_audit
from mikrosync.api.docs import install_docs
from mikrosync.api.errors import install_error_handlers
from mikrosync.api.responses import document_unparsable_bodies
from mikrosync.api.routes import (
    auth,
    health,
    imports,
    live,
    messages,
    mpesa,
    packages,
    payments,
    queue,
    reconcile,
    routers,
    subscribers,
    tenant_settings,
    tenants,
    vouchers,
    webhooks,
)
from mikrosync.api.security_headers import install_security_headers
from mikrosync.http.validation import install_validation_errors
from mikrosync.logs import setup_logging
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings, load_settings
from mikrosync.web import mount_web

API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    runtime = Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Find (or start) Redis now, not inside the first request that pushes a job.
        await asyncio.to_thread(lambda: runtime.redis_url)
        yield
        await runtime.close()

    app = FastAPI(
        title="mikrosync",
        version=__version__,
        description="Keeps an ISP's subscriber database and its MikroTik routers in agreement.",
        lifespan=lifespan,
        # /docs is served from the package (api/docs.py), not from a CDN; no /redoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    install_validation_errors(app)  # after: it replaces FastAPI's echoing 422 handler
    install_security_headers(app)
    install_api_audit(app, API_PREFIX)
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        tenants,
        tenant_settings,
        routers,
        reconcile,
        packages,
        imports,
        subscribers,
        payments,
        mpesa,
        messages,
        webhooks,
        queue,
        vouchers,
        live,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    install_docs(app)
    mount_web(app)
    document_unparsable_bodies(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of `mikrosync serve --workers N` (uvicorn's factory):
    settings from the environment, as the `serve` that started it read them (it checked them,
    migrated the embedded database and made the secret key before starting any worker).
    Every worker shares the database and Redis (the embedded one too: the first process of a
    data directory starts it, the others join it, `jobs/embedded.py`)."""
    settings = load_settings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    return long_lived(create_app(settings))


def long_lived(app: FastAPI) -> FastAPI:
    """Move what the process holds once the app is built (about 210,000 objects: modules,
    routes, schemas) out of the garbage collector's sight, in a `serve` process only.

    Otherwise each full collection walks all of them: 135 ms with every request of the
    process stopped, a stall that lands in the latency tail under load. A test process,
    which builds many apps, must not call this: frozen objects are never freed.
    """
    gc.collect()
    gc.freeze()
    return app
