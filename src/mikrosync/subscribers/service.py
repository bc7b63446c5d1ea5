"""Subscriber write operations: each records intent in ONE transaction (DESIGN §1.2).

Nothing here talks to a router or to Redis. Callers push the job hint after the commit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput, StateConflict, UnknownReference
from mikrosync.packages.models import Package, Service
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.subscribers.intent import ensure_not_removing, record_intent, target_package_id
from mikrosync.subscribers.locking import locked
from mikrosync.subscribers.models import Operation, Subscriber, SuspendReason, SyncEvent, SyncStatus
from mikrosync.subscribers.queries import get_subscriber
from mikrosync.subscribers.schemas import SubscriberCreate, SubscriberUpdate

_ROUTER_FIELDS = ("password", "remote_address", "static_ip")


async def _tenant_router(session: AsyncSession, tenant_id: int, router_id: int) -> Router:
    router = await session.get(Router, router_id)
    if router is None or router.tenant_id != tenant_id:
        raise UnknownReference("router_id", f"there is no router with id {router_id}")
    return router


async def _tenant_package(
    session: AsyncSession, tenant_id: int, package_id: int, service: str
) -> Package:
    package = await session.get(Package, package_id)
    return _check_package(package, tenant_id, package_id, service)


def _check_package(
    package: Package | None, tenant_id: int, package_id: int, service: str
) -> Package:
    if package is None or package.tenant_id != tenant_id:
        raise UnknownReference("package_id", f"there is no package with id {package_id}")
    if package.service != service:
        raise StateConflict(
            "package_id",
            f"package {package.name!r} is for {package.service} subscribers, not {service}",
        )
    return package


def _check_addresses(
    service: str,
    remote_address: str | None,
    static_ip: str | None,
    error: type[InvalidInput] = InvalidInput,
) -> None:
    """`error`: InvalidInput when `service` comes with the request (its schema states these
    rules), StateConflict when it is the stored subscriber's (a PATCH)."""
    if service == Service.STATIC and not static_ip:
        raise error("static_ip", "a static subscriber needs static_ip")
    if service != Service.STATIC and static_ip:
        raise error("static_ip", "only static subscribers have a static_ip")
    if service != Service.PPPOE and remote_address:
        raise error("remote_address", "only PPPoE subscribers have a remote_address")


def _check_new_fields(data: SubscriberCreate) -> None:
    """The checks of a new subscriber that need nothing from the database."""
    _check_addresses(data.service, data.remote_address, data.static_ip)
    if data.service != Service.STATIC and not data.password:
        raise InvalidInput("password", f"a {data.service} subscriber needs a password")


class DuplicateValue(Conflict):
    """A username or static IP already used on the router. A Conflict (409 in the API) that
    also names its field, so an import can report which column of a row is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _username_taken(username: str) -> DuplicateValue:
    return DuplicateValue("username", f"username {username!r} is already used on this router")


def _static_ip_taken(static_ip: str) -> DuplicateValue:
    return DuplicateValue("static_ip", f"static IP {static_ip} is already used on this router")


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
        raise _username_taken(username)
    if static_ip:
        clash = select(Subscriber.id).where(
            Subscriber.router_id == router_id, Subscriber.static_ip == static_ip
        )
        found = (await session.scalars(clash)).first()
        if found is not None and found != except_id:
            raise _static_ip_taken(static_ip)


def _add_new(
    session: AsyncSession,
    tenant_id: int,
    data: SubscriberCreate,
    package: Package,
    vault: Vault,
    actor: str,
    *,
    suspended: bool = False,
    message: str | None = None,
) -> tuple[Subscriber, SyncEvent]:
    """Add the row of a checked new subscriber, pending at version 1, with its `addUser`
    intent, to the caller's transaction."""
    expires_at = data.expires_at or now() + timedelta(minutes=package.duration_minutes)
    subscriber = Subscriber(
        tenant_id=tenant_id,
        password_encrypted=vault.encrypt(data.password) if data.password else None,
        expires_at=expires_at,
        desired_version=1,
        synced_version=0,
        **data.model_dump(exclude={"password", "expires_at"}),
    )
    if suspended:
        subscriber.is_suspended = True
        subscriber.suspend_reason = SuspendReason.MANUAL
    session.add(subscriber)
    event = record_intent(
        session, subscriber, Operation.ADD_USER, actor=actor, message=message, bump=False
    )
    return subscriber, event


async def create_subscriber(
    session: AsyncSession, *, tenant_id: int, data: SubscriberCreate, vault: Vault, actor: str
) -> Subscriber:
    await _tenant_router(session, tenant_id, data.router_id)
    package = await _tenant_package(session, tenant_id, data.package_id, data.service)
    _check_new_fields(data)
    await _check_unique(
        session, router_id=data.router_id, username=data.username, static_ip=data.static_ip
    )
    subscriber, _ = _add_new(session, tenant_id, data, package, vault, actor)
    await session.commit()
    return subscriber


@dataclass
class NewSubscriberChecks:
    """`create_subscriber`'s checks for many new subscribers of one router, with what they
    look up (the tenant's packages, the router's used usernames and static IPs) loaded once:
    checking 10,000 imported rows must not cost 30,000 queries.

    `check` raises exactly what `create_subscriber` raises for the same row; it does not
    reserve anything, so a caller can check a whole file first and create afterwards.
    """

    tenant_id: int
    router_id: int
    packages: dict[int, Package]
    usernames: set[str]
    static_ips: set[str]

    @classmethod
    async def load(
        cls, session: AsyncSession, *, tenant_id: int, router_id: int
    ) -> NewSubscriberChecks:
        await _tenant_router(session, tenant_id, router_id)
        packages = await session.scalars(select(Package).where(Package.tenant_id == tenant_id))
        used = await session.execute(
            select(Subscriber.username, Subscriber.static_ip).where(
                Subscriber.router_id == router_id
            )
        )
        checks = cls(tenant_id, router_id, {p.id: p for p in packages}, set(), set())
        for username, static_ip in used:
            checks.usernames.add(username)
            if static_ip:
                checks.static_ips.add(static_ip)
        return checks

    def check(self, data: SubscriberCreate) -> Package:
        """The package of a valid new subscriber; raises InvalidInput or DuplicateValue."""
        if data.router_id != self.router_id:
            raise InvalidInput("router_id", f"these checks are for router {self.router_id}")
        package = _check_package(
            self.packages.get(data.package_id), self.tenant_id, data.package_id, data.service
        )
        _check_new_fields(data)
        if data.username in self.usernames:
            raise _username_taken(data.username)
        if data.static_ip and data.static_ip in self.static_ips:
            raise _static_ip_taken(data.static_ip)
        return package

    def claim(self, data: SubscriberCreate) -> None:
        self.usernames.add(data.username)
        if data.static_ip:
            self.static_ips.add(data.static_ip)


async def create_subscribers_bulk(
    session: AsyncSession,
    *,
    checks: NewSubscriberChecks,
    rows: Sequence[SubscriberCreate],
    vault: Vault,
    actor: str,
    suspended: Collection[str] = (),
    message: str | None = None,
) -> list[Subscriber]:
    """Create many subscribers of `checks`' router in ONE transaction: all or none.

    Each row gets what `create_subscriber` gives it (the same checks, pending at version 1,
    an `addUser` intent); the first invalid row raises and nothing is written. The database
    still refuses a username that another writer took since `checks` was loaded (the unique
    constraint), which also rolls the whole batch back. The caller pushes the job hints.

    Router adoption names in `suspended` the logins it found disabled (they start suspended,
    reason manual) and gives the intent a `message` saying where the rows came from.
    """
    staged: list[tuple[Subscriber, SyncEvent]] = []
    claimed = replace(checks, usernames=set(checks.usernames), static_ips=set(checks.static_ips))
    try:
        for data in rows:
            package = claimed.check(data)
            claimed.claim(data)
            staged.append(
                _add_new(
                    session,
                    checks.tenant_id,
                    data,
                    package,
                    vault,
                    actor,
                    suspended=data.username in suspended,
                    message=message,
                )
            )
        created = await _insert_staged(session, checks.router_id, staged)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    checks.usernames, checks.static_ips = claimed.usernames, claimed.static_ips
    return created


async def _insert_staged(
    session: AsyncSession, router_id: int, staged: Sequence[tuple[Subscriber, SyncEvent]]
) -> list[Subscriber]:
    """Insert what `_add_new` staged with two bulk statements, and return the new rows.

    Why not the unit of work: it must read back each new id, and on SQLite it can only do
    that with one INSERT per row, so 10,000 imported subscribers and their intents would
    cost 20,000 statements. Here the rows `_add_new` built (with `record_intent`'s values)
    leave the session and go in as one multi-row INSERT per table; the ids come back keyed
    by username, unique per router.
    """
    if not staged:
        return []
    for subscriber, event in staged:
        session.expunge(event)
        session.expunge(subscriber)
    inserted = await session.execute(
        insert(Subscriber).returning(Subscriber.username, Subscriber.id),
        [_column_values(subscriber) for subscriber, _ in staged],
    )
    ids: dict[str, int] = dict(inserted.all())
    await session.execute(
        insert(SyncEvent),
        [_column_values(event) | {"subscriber_id": ids[s.username]} for s, event in staged],
    )
    query = select(Subscriber).where(
        Subscriber.router_id == router_id, Subscriber.id.in_(ids.values())
    )
    return list((await session.scalars(query.order_by(Subscriber.id))).all())


def _column_values(row: Subscriber | SyncEvent) -> dict[str, object]:
    """The column attributes set on a not-yet-inserted row (the rest take their defaults)."""
    return {
        column.key: row.__dict__[column.key]
        for column in row.__mapper__.column_attrs
        if column.key in row.__dict__
    }


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
    _check_addresses(subscriber.service, remote, static, StateConflict)
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
    if new_package is not None and new_package != target_package_id(subscriber):
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
    subscriber = await _for_write(session, tenant_id, subscriber_id)
    ensure_not_removing(subscriber)
    return subscriber


async def _for_write(session: AsyncSession, tenant_id: int, subscriber_id: int) -> Subscriber:
    return await get_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, for_update=True
    )


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
    subscriber = await _for_write(session, tenant_id, subscriber_id)
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
    subscriber = await _for_write(session, tenant_id, subscriber_id)
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
        await _tenant_router(session, tenant_id, router_id)  # another tenant's: refused
        query = query.where(Subscriber.router_id == router_id)
    if sync_status is not None:
        query = query.where(Subscriber.sync_status == sync_status)
    subscribers = list(await locked(session, query.order_by(Subscriber.id)))
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
