"""Subscribers: create, read, list, PATCH, DELETE, the sync actions and the timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.api.deps import Operator, Reader, RuntimeDep, SessionDep, VaultDep
from mikrosync.api.responses import OBJECTS
from mikrosync.payments import service as payments
from mikrosync.request_schema import Id
from mikrosync.subscribers import queries, service
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import (
    BulkResult,
    BulkRetry,
    SubscriberCreate,
    SubscriberFilters,
    SubscriberPage,
    SubscriberRead,
    SubscriberUpdate,
    SyncEventRead,
)
from mikrosync.tenants.access import Principal

router = APIRouter(prefix="/subscribers", tags=["subscribers"], responses=OBJECTS)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_subscriber(
    data: SubscriberCreate,
    session: SessionDep,
    vault: VaultDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> SubscriberRead:
    """Create a subscriber; it is `pending` until its router confirms (job `addUser`)."""
    created = await service.create_subscriber(
        session, tenant_id=principal.scope, data=data, vault=vault, actor=principal.email
    )
    await runtime.hint([created])
    return SubscriberRead.model_validate(created)


@router.get("")
async def list_subscribers(
    filters: Annotated[SubscriberFilters, Query()], session: SessionDep, principal: Reader
) -> SubscriberPage:
    """Subscribers matching the filters, one page at a time."""
    items, total = await queries.list_subscribers(
        session, tenant_id=principal.scope, filters=filters
    )
    return SubscriberPage(
        items=[SubscriberRead.model_validate(s) for s in items],
        total=total,
        page=filters.page,
        per_page=filters.per_page,
    )


@router.post("/retry")
async def retry_matching(
    data: BulkRetry, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> BulkResult:
    """Re-queue every matching subscriber (default: all in `error`; narrow with router_id)."""
    retried = await service.retry_matching(
        session,
        tenant_id=principal.scope,
        actor=principal.email,
        router_id=data.router_id,
        sync_status=data.sync_status,
    )
    await runtime.hint(retried)
    return BulkResult(count=len(retried), subscriber_ids=[s.id for s in retried])


@router.get("/{subscriber_id}")
async def get_subscriber(
    subscriber_id: Id, session: SessionDep, principal: Reader
) -> SubscriberRead:
    """One subscriber with its sync state."""
    found = await queries.get_subscriber(
        session, tenant_id=principal.scope, subscriber_id=subscriber_id
    )
    return SubscriberRead.model_validate(found)


@router.patch("/{subscriber_id}")
async def update_subscriber(
    subscriber_id: Id,
    data: SubscriberUpdate,
    session: SessionDep,
    vault: VaultDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> SubscriberRead:
    """Change fields; a new `package_id` becomes `pending_package_id` until the router has it."""
    updated = await service.update_subscriber(
        session,
        tenant_id=principal.scope,
        subscriber_id=subscriber_id,
        data=data,
        vault=vault,
        actor=principal.email,
    )
    await runtime.hint([updated])
    return SubscriberRead.model_validate(updated)


@router.get("/{subscriber_id}/events")
async def list_events(
    subscriber_id: Id,
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SyncEventRead]:
    """The sync timeline, newest first."""
    events = await queries.list_events(
        session, tenant_id=principal.scope, subscriber_id=subscriber_id, limit=limit
    )
    return [SyncEventRead.model_validate(e) for e in events]


Action = Callable[..., Awaitable[Subscriber]]


def _add_action(path: str, method: str, action: Action, summary: str, code: int = 200) -> None:
    async def endpoint(
        subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
    ) -> SubscriberRead:
        result = await _run(action, session, principal, subscriber_id)
        await runtime.hint([result])
        return SubscriberRead.model_validate(result)

    endpoint.__name__ = f"{path.strip('/').replace('-', '_') or 'delete'}_subscriber"
    router.add_api_route(
        f"/{{subscriber_id}}{path}",
        endpoint,
        methods=[method],
        summary=summary,
        status_code=code,
        response_model=SubscriberRead,
    )


async def _run(
    action: Action, session: AsyncSession, principal: Principal, subscriber_id: int
) -> Subscriber:
    return await action(
        session, tenant_id=principal.scope, subscriber_id=subscriber_id, actor=principal.email
    )


_add_action(
    "",
    "DELETE",
    service.delete_subscriber,
    "Mark for removal (job removeUser); the row goes once the router confirms",
    202,
)
_add_action(
    "/suspend",
    "POST",
    service.suspend_subscriber,
    "Suspend (job disconnectUser): disable on the router and end the session",
)
_add_action("/connect", "POST", service.connect_subscriber, "Lift a suspension (job connectUser)")
_add_action(
    "/renew",
    "POST",
    payments.free_renewal,
    "A free renewal, recorded in the wallet ledger: extend expires_at by one period of the "
    "package; reconnect if suspended for expiry (to renew against money, record a payment)",
)
_add_action("/retry", "POST", service.retry_subscriber, "Clear the error and converge again")
