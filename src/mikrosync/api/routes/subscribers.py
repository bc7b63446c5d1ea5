"""Subscribers: create, read, list, PATCH, DELETE, the sync actions and the timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from mikrosync.api.deps import Operator, Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import OBJECTS
from mikrosync.http.fields import Id
from mikrosync.subscribers import queries
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
from mikrosync.usecases import subscribers

router = APIRouter(prefix="/subscribers", tags=["subscribers"], responses=OBJECTS)


@router.post("", operation_id="createSubscriber", status_code=status.HTTP_201_CREATED)
async def create_subscriber(
    data: SubscriberCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> SubscriberRead:
    """Create a subscriber; it is `pending` until its router confirms (job `addUser`)."""
    created = await subscribers.create_subscriber(
        runtime, session, tenant_id=principal.tenant_id, data=data, actor=principal.email
    )
    return SubscriberRead.model_validate(created)


@router.get("", operation_id="listSubscribers")
async def list_subscribers(
    filters: Annotated[SubscriberFilters, Query()], session: SessionDep, principal: Reader
) -> SubscriberPage:
    """Subscribers matching the filters, one page at a time."""
    items, total = await queries.list_subscribers(
        session, tenant_id=principal.tenant_id, filters=filters
    )
    return SubscriberPage(
        items=[SubscriberRead.model_validate(s) for s in items],
        total=total,
        page=filters.page,
        per_page=filters.per_page,
    )


@router.post("/retry", operation_id="retrySubscribers")
async def retry_matching(
    data: BulkRetry, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> BulkResult:
    """Re-queue every matching subscriber (default: all in `error`; narrow with router_id)."""
    retried = await subscribers.retry_matching(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        actor=principal.email,
        router_id=data.router_id,
        sync_status=data.sync_status,
    )
    return BulkResult(count=len(retried), subscriber_ids=[s.id for s in retried])


@router.get("/{subscriber_id:int}", operation_id="getSubscriber")
async def get_subscriber(
    subscriber_id: Id, session: SessionDep, principal: Reader
) -> SubscriberRead:
    """One subscriber with its sync state."""
    found = await queries.get_subscriber(
        session, tenant_id=principal.tenant_id, subscriber_id=subscriber_id
    )
    return SubscriberRead.model_validate(found)


@router.patch("/{subscriber_id:int}", operation_id="updateSubscriber")
async def update_subscriber(
    subscriber_id: Id,
    data: SubscriberUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> SubscriberRead:
    """Change fields; a new `package_id` becomes `pending_package_id` until the router has it."""
    updated = await subscribers.update_subscriber(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        subscriber_id=subscriber_id,
        data=data,
        actor=principal.email,
    )
    return SubscriberRead.model_validate(updated)


@router.get("/{subscriber_id:int}/events", operation_id="listSubscriberEvents")
async def list_events(
    subscriber_id: Id,
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SyncEventRead]:
    """The sync timeline, newest first."""
    events = await queries.list_events(
        session, tenant_id=principal.tenant_id, subscriber_id=subscriber_id, limit=limit
    )
    return [SyncEventRead.model_validate(e) for e in events]


@router.delete(
    "/{subscriber_id:int}",
    operation_id="deleteSubscriber",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mark for removal (job removeUser); the row goes once the router confirms",
)
async def delete_subscriber(
    subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> SubscriberRead:
    found = await subscribers.delete_subscriber(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        subscriber_id=subscriber_id,
        actor=principal.email,
    )
    return SubscriberRead.model_validate(found)


@router.post(
    "/{subscriber_id:int}/suspend",
    operation_id="suspendSubscriber",
    summary="Suspend (job disconnectUser): disable on the router and end the session",
)
async def suspend_subscriber(
    subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> SubscriberRead:
    found = await subscribers.suspend_subscriber(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        subscriber_id=subscriber_id,
        actor=principal.email,
    )
    return SubscriberRead.model_validate(found)


@router.post(
    "/{subscriber_id:int}/connect",
    operation_id="connectSubscriber",
    summary="Lift a suspension (job connectUser)",
)
async def connect_subscriber(
    subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> SubscriberRead:
    found = await subscribers.connect_subscriber(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        subscriber_id=subscriber_id,
        actor=principal.email,
    )
    return SubscriberRead.model_validate(found)


@router.post(
    "/{subscriber_id:int}/renew",
    operation_id="renewSubscriber",
    summary=(
        "A free renewal, recorded in the wallet ledger: extend expires_at by one period of the "
        "package; reconnect if suspended for expiry (to renew against money, record a payment)"
    ),
)
async def renew_subscriber(
    subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> SubscriberRead:
    found = await subscribers.renew_subscriber(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        subscriber_id=subscriber_id,
        actor=principal.email,
    )
    return SubscriberRead.model_validate(found)


@router.post(
    "/{subscriber_id:int}/retry",
    operation_id="retrySubscriber",
    summary="Clear the error and converge again",
)
async def retry_subscriber(
    subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> SubscriberRead:
    found = await subscribers.retry_subscriber(
        runtime,
        session,
        tenant_id=principal.tenant_id,
        subscriber_id=subscriber_id,
        actor=principal.email,
    )
    return SubscriberRead.model_validate(found)
