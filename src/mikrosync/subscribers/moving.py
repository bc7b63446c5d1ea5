"""Moving a subscriber to another router of the tenant.

A subscriber's objects live on one router and its converge talks to that router only, so a
move is the two changes the sync engine already knows: the same subscriber created on the
new router (same username, password, package, addresses, contact, expiry and suspension),
then the old one removed from the old router. The new one is created first: if the new
router refuses it (username or static IP taken there), nothing changed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict
from mikrosync.packages.models import Service
from mikrosync.security.vault import Vault
from mikrosync.subscribers import service
from mikrosync.subscribers.models import Subscriber, SuspendReason
from mikrosync.subscribers.queries import get_subscriber
from mikrosync.subscribers.schemas import SubscriberCreate


async def move_subscriber(
    session: AsyncSession,
    *,
    tenant_id: int,
    subscriber_id: int,
    router_id: int,
    vault: Vault,
    actor: str,
) -> tuple[Subscriber, Subscriber]:
    """(the new subscriber, the old one now being removed). Raises InvalidInput, Conflict."""
    old = await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    if old.pending_removal:
        raise Conflict(f"subscriber {old.username!r} is being removed")
    if old.router_id == router_id:
        raise Conflict(f"subscriber {old.username!r} is already on that router")
    data = SubscriberCreate(
        router_id=router_id,
        package_id=old.pending_package_id or old.package_id,
        service=Service(old.service),
        username=old.username,
        password=vault.decrypt(old.password_encrypted) if old.password_encrypted else None,
        remote_address=old.remote_address,
        static_ip=old.static_ip,
        full_name=old.full_name,
        phone=old.phone,
        email=old.email,
        address=old.address,
        expires_at=old.expires_at,
    )
    new = await service.create_subscriber(
        session, tenant_id=tenant_id, data=data, vault=vault, actor=actor
    )
    if old.is_suspended:
        new = await service.suspend_subscriber(
            session,
            tenant_id=tenant_id,
            subscriber_id=new.id,
            actor=actor,
            reason=SuspendReason(old.suspend_reason or SuspendReason.MANUAL),
        )
    removed = await service.delete_subscriber(
        session, tenant_id=tenant_id, subscriber_id=old.id, actor=actor
    )
    return new, removed
