"""What an operator does to subscribers: each use case records the intent in ONE transaction
(`subscribers/service.py`) and then pushes the job hint (`jobs/push.py`).

The REST API, the web console and the CLI call these, never the service and the push apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, NotFound
from mikrosync.jobs.push import push_intents
from mikrosync.runtime import Runtime
from mikrosync.subscribers import service
from mikrosync.subscribers.models import Subscriber, SyncStatus
from mikrosync.subscribers.schemas import SubscriberCreate, SubscriberUpdate


async def create_subscriber(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, data: SubscriberCreate, actor: str
) -> Subscriber:
    """A new subscriber, `pending` until its router confirms (job `addUser`)."""
    created = await service.create_subscriber(
        session, tenant_id=tenant_id, data=data, vault=runtime.vault, actor=actor
    )
    await push_intents(runtime.queue, [created])
    return created


async def update_subscriber(
    runtime: Runtime,
    session: AsyncSession,
    *,
    tenant_id: int,
    subscriber_id: int,
    data: SubscriberUpdate,
    actor: str,
) -> Subscriber:
    """Change fields; a new `package_id` is the package change (`updateUserPackage`)."""
    updated = await service.update_subscriber(
        session,
        tenant_id=tenant_id,
        subscriber_id=subscriber_id,
        data=data,
        vault=runtime.vault,
        actor=actor,
    )
    await push_intents(runtime.queue, [updated])
    return updated


async def suspend_subscriber(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Disable on the router and end the live session (job `disconnectUser`)."""
    found = await service.suspend_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, actor=actor
    )
    await push_intents(runtime.queue, [found])
    return found


async def connect_subscriber(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Lift a suspension (job `connectUser`)."""
    found = await service.connect_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, actor=actor
    )
    await push_intents(runtime.queue, [found])
    return found


async def renew_subscriber(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Extend `expires_at` by the package duration; reconnect if suspended for expiry."""
    found = await service.renew_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, actor=actor
    )
    await push_intents(runtime.queue, [found])
    return found


async def retry_subscriber(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Clear the error and converge again."""
    found = await service.retry_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, actor=actor
    )
    await push_intents(runtime.queue, [found])
    return found


async def delete_subscriber(
    runtime: Runtime, session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Mark for removal (job `removeUser`); the row goes once the router confirms."""
    found = await service.delete_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, actor=actor
    )
    await push_intents(runtime.queue, [found])
    return found


async def retry_matching(
    runtime: Runtime,
    session: AsyncSession,
    *,
    tenant_id: int,
    actor: str,
    router_id: int | None = None,
    sync_status: SyncStatus | None = SyncStatus.ERROR,
) -> list[Subscriber]:
    """Retry every matching subscriber (default: all in `error`), in one transaction."""
    retried = await service.retry_matching(
        session, tenant_id=tenant_id, actor=actor, router_id=router_id, sync_status=sync_status
    )
    await push_intents(runtime.queue, retried)
    return retried


async def bulk_action(
    runtime: Runtime,
    session: AsyncSession,
    *,
    tenant_id: int,
    actor: str,
    action: str,
    ids: Iterable[str],
) -> tuple[list[Subscriber], list[str]]:
    """Suspend or connect the subscribers of `ids` (as the form sent them), one transaction
    each; returns those done and a line per id refused. One push for all that were done."""
    act = _BULK[action]
    done: list[Subscriber] = []
    refused: list[str] = []
    for value in ids:
        try:
            done.append(
                await act(session, tenant_id=tenant_id, subscriber_id=int(value), actor=actor)
            )
        except (NotFound, Conflict, ValueError) as exc:
            refused.append(f"#{value}: {exc}")
    await push_intents(runtime.queue, done)
    return done, refused


_BULK = {"suspend": service.suspend_subscriber, "connect": service.connect_subscriber}
BULK_ACTIONS = frozenset(_BULK)
