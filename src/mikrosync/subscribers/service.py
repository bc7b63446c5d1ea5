"""Subscriber write operations: each records intent in ONE transaction (DESIGN §1.2).

Nothing here talks to a router or to Redis. Callers push the job hint after the commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput
from mikrosync.packages.models import Package, Service
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.subscribers.intent import ensure_not_removing, record_intent
from mikrosync.subscribers.models import Operation, Subscriber, SuspendReason, SyncStatus
from mikrosync.subscribers.queries import get_subscriber
from mikrosync.subscribers.schemas import SubscriberCreate, SubscriberUpdate

_ROUTER_FIELDS = ("password", "remote_address", "static_ip")


async def _tenant_router(session: AsyncSession, tenant_id: int, router_id: int) -> Router:
    router = await session.get(Router, router_id)
    if router is None or router.tenant_id != tenant_id:
        raise InvalidInput("router_id", f"there is no router with id {router_id}")
    return router


async def _tenant_package(
    session: AsyncSession, tenant_id: int, package_id: int, service: str
) -> Package:
    package = await session.get(Package, package_id)
    if package is None or package.tenant_id != tenant_id:
        raise InvalidInput("package_id", f"there is no package with id {package_id}")
    if package.service != service:
        raise InvalidInput(
            "package_id",
            f"package {package.name!r} is for {package.service} subscribers, not {service}",
        )
    return package


def _check_addresses(service: str, remote_address: str | None, static_ip: str | None) -> None:
    if service == Service.STATIC and not static_ip:
        raise InvalidInput("static_ip", "a static subscriber needs static_ip")
    if service != Service.STATIC and static_ip:
        raise InvalidInput("static_ip", "only static subscribers have a static_ip")
    if service != Service.PPPOE and remote_address:
        raise InvalidInput("remote_address", "only PPPoE subscribers have a remote_address")


async def _check_unique(
    session: AsyncSession,
    *,
    router_id: int,
    username: str,
    static_ip: str | None,
    except_id: int | None = None,
) -> None:
    clash = select(Subscriber.id).where(
        Subscriber.router_id == router_id, Subscriber.username == username
    )
    found = (await session.scalars(clash)).first()
    if found is not None and found != except_id:
        raise Conflict(f"username {username!r} is already used on this router")
    if static_ip:
        clash = select(Subscriber.id).where(
            Subscriber.router_id == router_id, Subscriber.static_ip == static_ip
        )
        found = (await session.scalars(clash)).first()
        if found is not None and found != except_id:
            raise Conflict(f"static IP {static_ip} is already used on this router")


async def create_subscriber(
    session: AsyncSession, *, tenant_id: int, data: SubscriberCreate, vault: Vault, actor: str
) -> Subscriber:
    await _tenant_router(session, tenant_id, data.router_id)
    package = await _tenant_package(session, tenant_id, data.package_id, data.service)
    _check_addresses(data.service, data.remote_address, data.static_ip)
    if data.service != Service.STATIC and not data.password:
        raise InvalidInput("password", f"a {data.service} subscriber needs a password")
    await _check_unique(
        session, router_id=data.router_id, username=data.username, static_ip=data.static_ip
    )
    expires_at = data.expires_at or now() + timedelta(minutes=package.duration_minutes)
    subscriber = Subscriber(
        tenant_id=tenant_id,
        password_encrypted=vault.encrypt(data.password) if data.password else None,
        expires_at=expires_at,
        desired_version=1,
        synced_version=0,
        **data.model_dump(exclude={"password", "expires_at"}),
    )
    session.add(subscriber)
    record_intent(session, subscriber, Operation.ADD_USER, actor=actor, bump=False)
    await session.commit()
    return subscriber


async def update_subscriber(
    session: AsyncSession,
    *,
    tenant_id: int,
    subscriber_id: int,
    data: SubscriberUpdate,
    vault: Vault,
    actor: str,
) -> Subscriber:
    """PATCH. Contact fields change quietly; router fields and the package record intent."""
    subscriber = await _writable(session, tenant_id, subscriber_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("password") is None:
        changes.pop("password", None)
    remote = changes.get("remote_address", subscriber.remote_address)
    static = changes.get("static_ip", subscriber.static_ip)
    _check_addresses(subscriber.service, remote, static)
    if "static_ip" in changes:
        await _check_unique(
            session,
            router_id=subscriber.router_id,
            username=subscriber.username,
            static_ip=static,
            except_id=subscriber.id,
        )
    operation = _apply_router_fields(subscriber, changes, vault)
    new_package = changes.pop("package_id", None)
    if new_package is not None and new_package != _target_package(subscriber):
        await _tenant_package(session, tenant_id, new_package, subscriber.service)
        subscriber.pending_package_id = (
            None if new_package == subscriber.package_id else (new_package)
        )
        operation = Operation.UPDATE_USER_PACKAGE
    for field in ("full_name", "phone", "email", "address"):
        if field in changes:
            setattr(subscriber, field, changes[field])
    if "expires_at" in changes and changes["expires_at"] is not None:
        subscriber.expires_at = changes["expires_at"]
    if operation is not None:
        record_intent(session, subscriber, operation, actor=actor)
    await session.commit()
    return subscriber


async def _writable(session: AsyncSession, tenant_id: int, subscriber_id: int) -> Subscriber:
    """The tenant's subscriber, refusing changes to one that is being removed."""
    subscriber = await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    ensure_not_removing(subscriber)
    return subscriber


def _target_package(subscriber: Subscriber) -> int:
    return subscriber.pending_package_id or subscriber.package_id


def _apply_router_fields(
    subscriber: Subscriber, changes: dict[str, object], vault: Vault
) -> Operation | None:
    """Set the fields the router holds; return UPDATE_USER if any of them changed."""
    changed = False
    password = changes.get("password")
    if isinstance(password, str):
        current = (
            vault.decrypt(subscriber.password_encrypted)
            if (subscriber.password_encrypted)
            else None
        )
        if password != current:
            subscriber.password_encrypted = vault.encrypt(password)
            changed = True
    for field in ("remote_address", "static_ip"):
        if field in changes and changes[field] != getattr(subscriber, field):
            setattr(subscriber, field, changes[field])
            changed = True
    return Operation.UPDATE_USER if changed else None


async def delete_subscriber(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Mark for removal; the sync engine deletes the row once the router confirms."""
    subscriber = await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    if subscriber.pending_removal:
        return subscriber
    subscriber.pending_removal = True
    record_intent(session, subscriber, Operation.REMOVE_USER, actor=actor)
    await session.commit()
    return subscriber


async def suspend_subscriber(
    session: AsyncSession,
    *,
    tenant_id: int,
    subscriber_id: int,
    actor: str,
    reason: SuspendReason = SuspendReason.MANUAL,
) -> Subscriber:
    subscriber = await _writable(session, tenant_id, subscriber_id)
    if subscriber.is_suspended:
        return subscriber
    subscriber.is_suspended = True
    subscriber.suspend_reason = reason
    record_intent(session, subscriber, Operation.DISCONNECT_USER, actor=actor, message=reason)
    await session.commit()
    return subscriber


async def connect_subscriber(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Lift a suspension (the seed's manualConnectUser)."""
    subscriber = await _writable(session, tenant_id, subscriber_id)
    if not subscriber.is_suspended:
        return subscriber
    if _has_expired(subscriber.expires_at):
        raise Conflict(
            f"subscriber {subscriber.username!r} expired at {subscriber.expires_at:%Y-%m-%d %H:%M}"
            " UTC and would be cut again at once; renew it, or set a later expires_at"
        )
    _lift_suspension(session, subscriber, actor)
    await session.commit()
    return subscriber


async def renew_subscriber(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Extend `expires_at` by the package duration, from now if it had already passed, and
    reconnect a subscriber that was suspended for expiry."""
    subscriber = await _writable(session, tenant_id, subscriber_id)
    package = await session.get(Package, subscriber.package_id)
    assert package is not None
    start = subscriber.expires_at if not _has_expired(subscriber.expires_at) else now()
    assert start is not None
    subscriber.expires_at = start + timedelta(minutes=package.duration_minutes)
    message = f"renewed until {subscriber.expires_at:%Y-%m-%d %H:%M} UTC"
    if subscriber.is_suspended and subscriber.suspend_reason == SuspendReason.EXPIRED:
        _lift_suspension(session, subscriber, actor, message=message)
    else:
        record_intent(session, subscriber, Operation.CONNECT_USER, actor=actor, message=message)
    await session.commit()
    return subscriber


async def retry_subscriber(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """Clear the error and ask for another converge."""
    subscriber = await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    previous = subscriber.sync_error_message
    record_intent(
        session,
        subscriber,
        Operation.RETRY,
        actor=actor,
        message=f"retry after: {previous}" if previous else None,
    )
    await session.commit()
    return subscriber


def _lift_suspension(
    session: AsyncSession, subscriber: Subscriber, actor: str, message: str | None = None
) -> None:
    subscriber.is_suspended = False
    subscriber.suspend_reason = None
    record_intent(session, subscriber, Operation.CONNECT_USER, actor=actor, message=message)


def _has_expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= now()


async def retry_matching(
    session: AsyncSession,
    *,
    tenant_id: int,
    actor: str,
    router_id: int | None = None,
    sync_status: SyncStatus | None = SyncStatus.ERROR,
) -> list[Subscriber]:
    """Retry every matching subscriber (by default: all in `error`), in one transaction."""
    query = select(Subscriber).where(Subscriber.tenant_id == tenant_id)
    if router_id is not None:
        query = query.where(Subscriber.router_id == router_id)
    if sync_status is not None:
        query = query.where(Subscriber.sync_status == sync_status)
    subscribers = list((await session.scalars(query.order_by(Subscriber.id))).all())
    for subscriber in subscribers:
        previous = subscriber.sync_error_message
        record_intent(
            session,
            subscriber,
            Operation.RETRY,
            actor=actor,
            message=f"bulk retry after: {previous}" if previous else "bulk retry",
        )
    await session.commit()
    return subscribers
