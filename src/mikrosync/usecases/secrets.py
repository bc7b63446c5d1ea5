"""Re-encrypt every stored secret with the current key, after `MIKROSYNC_SECRET_KEY` changed
and the old key was listed in `MIKROSYNC_PREVIOUS_SECRET_KEYS`."""

from __future__ import annotations

from sqlalchemy import select

from mikrosync.db.session import SessionMaker
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.subscribers.models import Subscriber

BATCH = 1000


async def rotate_secrets(sessionmaker: SessionMaker, vault: Vault) -> tuple[int, int]:
    """Returns (routers, subscribers) re-encrypted. Safe to run twice."""
    async with sessionmaker() as session:
        routers = (await session.scalars(select(Router))).all()
        for router in routers:
            router.password_encrypted = vault.rotate(router.password_encrypted)
        await session.commit()
    done = 0
    last_id = 0
    while True:
        async with sessionmaker() as session:
            query = (
                select(Subscriber)
                .where(Subscriber.id > last_id, Subscriber.password_encrypted.is_not(None))
                .order_by(Subscriber.id)
                .limit(BATCH)
            )
            rows = (await session.scalars(query)).all()
            for subscriber in rows:
                assert subscriber.password_encrypted is not None
                subscriber.password_encrypted = vault.rotate(subscriber.password_encrypted)
            await session.commit()
        if not rows:
            return len(routers), done
        done += len(rows)
        last_id = rows[-1].id
