"""Key rotation: stored secrets re-encrypted with the new key stay readable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mikrosync.app import create_app
from mikrosync.db import migrate
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings
from mikrosync.subscribers.models import Subscriber
from mikrosync.usecases.secrets import rotate_secrets
from tests.helpers import make_subscriber
from tests.plugins.core import (
    TEST_REDIS_URL,
    TEST_SECRET_KEY,
    Staff,
    TenantFactory,
    _create_postgres_database,
    _drop_postgres_database,
    delete_prefix,
)

NEW_KEY = "rotated-key-" + "z" * 40


@dataclass
class Private:
    client: httpx.AsyncClient
    owner: Staff
    runtime: Runtime


@pytest.fixture
async def private(database_url: str, tmp_path: Path) -> AsyncIterator[Private]:
    """A database of this test alone, of the same backend as `database_url`: rotation rewrites
    every secret of a database, so it must not touch (or wait on) the rows of other tests that
    share the session's database (50,000 of them after the reconcile scale test)."""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'rotation.db'}"
    else:
        url = await _create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        redis_url=TEST_REDIS_URL,
        queue_prefix=f"rotation-{uuid.uuid4().hex[:10]}",
    )
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        factory = TenantFactory(runtime=runtime, client=client)
        yield Private(client, await factory.staff(await factory.tenant()), runtime)
    await runtime.close()
    await delete_prefix(settings.queue_prefix)
    if not database_url.startswith("sqlite"):
        await _drop_postgres_database(url)


async def test_rotation_re_encrypts_every_secret(private: Private) -> None:
    client, owner, runtime = private.client, private.owner, private.runtime
    created = await make_subscriber(client, owner, password="keep-me-1")
    routers, subscribers = await rotate_secrets(
        runtime.sessionmaker, Vault(NEW_KEY, [runtime.secret_key])
    )
    assert routers >= 1 and subscribers >= 1
    only_new = Vault(NEW_KEY)
    async with runtime.sessionmaker() as session:
        subscriber = await session.get(Subscriber, created["id"])
        router = (
            await session.scalars(select(Router).where(Router.id == created["router_id"]))
        ).one()
    assert subscriber is not None and subscriber.password_encrypted is not None
    assert only_new.decrypt(subscriber.password_encrypted) == "keep-me-1"
    assert only_new.decrypt(router.password_encrypted) == "router-pw"
