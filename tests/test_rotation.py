"""Key rotation: stored secrets re-encrypted with the new key stay readable."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.security.vault import Vault
from mikrosync.subscribers.models import Subscriber
from mikrosync.usecases.secrets import rotate_secrets
from tests.helpers import make_subscriber
from tests.plugins.core import Staff

NEW_KEY = "rotated-key-" + "z" * 40


async def test_rotation_re_encrypts_every_secret(
    client: httpx.AsyncClient, owner: Staff, runtime: Runtime
) -> None:
    created = await make_subscriber(client, owner, password="keep-me-1")
    try:
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
    finally:
        # The whole test database was rotated: put the session's key back for later tests.
        await rotate_secrets(runtime.sessionmaker, Vault(runtime.secret_key, [NEW_KEY]))
