"""Shared fixtures (a plugin that tests/conftest.py registers for every test): a real database
per backend (SQLite and PostgreSQL), migrated with Alembic, the app over ASGI, and factories
that create isolated tenants.

Every test that uses `backend` runs twice, once per database. Tests isolate themselves by
creating their own tenant (tenancy is what the product isolates on), so no rows are deleted
between tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from mikrosync.app import create_app
from mikrosync.db import migrate
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings
from mikrosync.tenants import service as tenants
from mikrosync.tenants.models import Role

# Thousands of staff users are created and logged in: hash their passwords with the cheapest
# argon2 parameters (0.4 CPU-s less per user). Set before any Settings is read, and inherited
# by every server, worker and CLI subprocess; tests/test_security.py covers the strong default.
os.environ.setdefault("MIKROSYNC_PASSWORD_HASHING", "minimal")

# Where to create throw-away PostgreSQL databases; .ci/run starts a server on this address.
POSTGRES_ADMIN_URL = os.environ.get(
    "MIKROSYNC_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
# The machine's Redis (.ci/run starts it); each test session uses its own key prefix.
TEST_REDIS_URL = os.environ.get("MIKROSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# A queue's first call connects and loads bullmq's scripts: on a loaded 2-core machine that
# overran the production 2 s push timeout. Queues that tests build to push or look use this;
# tests about Redis being away build theirs with a short one.
TEST_PUSH_TIMEOUT_S = 30.0
PASSWORD = "Test-pass-123"
# The `mikrosync` command as the tests' subprocesses run it (this interpreter, this checkout).
MIKROSYNC = (sys.executable, "-m", "mikrosync")


def environ_without_settings() -> dict[str, str]:
    """This process's environment without its MIKROSYNC_ settings: a subprocess started with it
    takes only the settings its test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MIKROSYNC_")}


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it, so parallel workers never collide)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_postgres_database() -> str:
    name = f"mikrosync_test_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A freshly migrated database of each backend (the migrations are under test too)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = await _create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    if request.param == "postgresql":
        await _drop_postgres_database(url)


async def delete_prefix(prefix: str) -> None:
    """Remove one test's queue keys (never FLUSHDB: other runs may share the Redis)."""
    client = redis.asyncio.from_url(TEST_REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
async def settings(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        redis_url=TEST_REDIS_URL,
        queue_prefix=prefix,
    )
    await delete_prefix(prefix)


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    built = Runtime.build(settings)
    yield built
    await built.close()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app of a backend, shared by the API client, the console's logins and the M-Pesa
    simulator's callbacks: FastAPI builds every route's dependants and pydantic adapters per
    app (about half a CPU-second each)."""
    built = create_app(settings)
    yield built
    await built.state.runtime.close()


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class Staff:
    """A logged-in staff user: use `.headers` on requests."""

    email: str
    tenant_id: int | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class TenantFactory:
    runtime: Runtime
    client: httpx.AsyncClient

    async def tenant(self) -> int:
        slug = f"t-{uuid.uuid4().hex[:12]}"
        async with self.runtime.sessionmaker() as session:
            created = await tenants.create_tenant(session, slug=slug, name=f"Tenant {slug}")
            return created.id

    async def staff(self, tenant_id: int | None, role: Role = Role.OWNER) -> Staff:
        email = f"{role.value}-{uuid.uuid4().hex[:12]}@isp.test"
        async with self.runtime.sessionmaker() as session:
            await tenants.create_staff_user(
                session, tenant_id=tenant_id, email=email, password=PASSWORD, role=role
            )
        return Staff(email=email, tenant_id=tenant_id, token=await login(self.client, email))


@pytest.fixture
def factory(runtime: Runtime, client: httpx.AsyncClient) -> TenantFactory:
    return TenantFactory(runtime=runtime, client=client)


@pytest.fixture
async def owner(factory: TenantFactory) -> Staff:
    """The owner of a brand-new tenant."""
    return await factory.staff(await factory.tenant())


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / ".mikrosync"
