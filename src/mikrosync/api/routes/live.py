"""Live state of routers: who is online (per router, per subscriber), the router's resources,
and ending one session (recorded in the subscriber's timeline). Reads are cached a few seconds
(`live_cache_s`) and never touch the sync path."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from mikrosync.api.deps import Operator, Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import OBJECTS, errors
from mikrosync.errors import InvalidInput, NotFound
from mikrosync.http.fields import Id, RequestModel, required_in_schema
from mikrosync.live.reader import RouterLive, plain_words
from mikrosync.live.timeline import record_disconnect
from mikrosync.routeros import RouterOSError
from mikrosync.routers import service as routers
from mikrosync.subscribers import queries

router = APIRouter(tags=["live"], responses=OBJECTS)


class SessionRead(BaseModel):
    kind: str
    id: str
    name: str
    address: str
    caller_id: str
    uptime: str
    bytes_in: int | None
    bytes_out: int | None


class ResourceRead(BaseModel):
    board: str
    version: str
    uptime: str
    cpu_load: int | None
    free_memory: int | None
    total_memory: int | None


class LiveRead(BaseModel):
    router_id: int
    online: bool
    error: str | None = Field(description="Why the router could not be read, in plain words.")
    resource: ResourceRead | None
    sessions: list[SessionRead]


class DisconnectRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra=required_in_schema("kind", "session_id"))

    # Optional here and required by the route after the tenant check: another tenant's
    # router answers 404 whatever the body, as every id does (DESIGN §3).
    kind: Literal["ppp", "hotspot"] | None = None
    session_id: str | None = Field(default=None, pattern=r"^\*[0-9A-Fa-f]{1,16}$")


class DisconnectResult(BaseModel):
    ended: bool
    name: str | None
    recorded_on: str | None


def _read(live: RouterLive, only: str | None = None) -> LiveRead:
    sessions = live.sessions if only is None else tuple(live.of_user(only))
    resource = live.resource
    return LiveRead(
        router_id=live.router_id,
        online=live.error is None,
        error=live.error,
        resource=ResourceRead(**resource.__dict__) if resource is not None else None,
        sessions=[SessionRead(**s.__dict__) for s in sessions],
    )


@router.get("/routers/{router_id:int}/live", operation_id="getRouterLive")
async def router_live(
    router_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Reader
) -> LiveRead:
    """Resources and every online session of the router."""
    found = await routers.get_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    session.expunge(found)
    await session.rollback()
    return _read(await runtime.live.read(found))


@router.get("/subscribers/{subscriber_id:int}/sessions", operation_id="listSubscriberSessions")
async def subscriber_sessions(
    subscriber_id: Id, session: SessionDep, runtime: RuntimeDep, principal: Reader
) -> LiveRead:
    """The subscriber's online sessions (and its router's resources)."""
    subscriber = await queries.get_subscriber(
        session, tenant_id=principal.tenant_id, subscriber_id=subscriber_id
    )
    username = subscriber.username
    found = await routers.get_router(
        session, tenant_id=principal.tenant_id, router_id=subscriber.router_id
    )
    session.expunge(found)
    await session.rollback()
    return _read(await runtime.live.read(found), only=username)


@router.post(
    "/routers/{router_id:int}/sessions/disconnect",
    operation_id="disconnectRouterSessions",
    responses=errors(503),
)
async def disconnect(
    router_id: Id,
    data: DisconnectRequest,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> DisconnectResult:
    """End one live session now; recorded in its subscriber's (or voucher's) timeline."""
    found = await routers.get_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    if data.kind is None:
        raise InvalidInput("kind", "give the session's kind: ppp or hotspot")
    if data.session_id is None:
        raise InvalidInput("session_id", "give the session's .id (e.g. *8000001A)")
    try:
        name = await runtime.live.disconnect(found, data.kind, data.session_id)
    except RouterOSError as exc:
        raise HTTPException(503, detail=plain_words(exc, found)) from exc
    if name is None:
        raise NotFound("no such session (it may have ended already)")
    where = await record_disconnect(
        session, found, name=name, detail=f"via the API, {data.kind}", actor=principal.email
    )
    return DisconnectResult(ended=True, name=name, recorded_on=where)
