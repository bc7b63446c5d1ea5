"""What a subscriber should have on its router, read from the database in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.packages.models import Package
from mikrosync.security.vault import Vault
from mikrosync.subscribers.intent import target_package_id
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.state import ClaimedRow
from mikrosync.tenants.models import Tenant


@dataclass(frozen=True)
class DesiredSubscriber:
    """The subscriber's intended router state at one `desired_version`."""

    subscriber_id: int
    tenant_id: int
    router_id: int
    version: int
    service: str
    username: str
    password: str | None
    remote_address: str | None
    static_ip: str | None
    is_suspended: bool
    remove: bool
    package_id: int
    profile_name: str
    rate_limit: str
    # Set when this version changes the package: the session is kicked so the rate applies.
    package_change: bool
    suspension_profile: str | None


async def load_desired(
    session: AsyncSession, subscriber: Subscriber, vault: Vault
) -> DesiredSubscriber:
    """Build the desired state from the row and the package it should be on now."""
    package = await session.get(Package, target_package_id(subscriber))
    tenant = await session.get(Tenant, subscriber.tenant_id)
    assert package is not None and tenant is not None
    return desired_from_rows(subscriber, package, tenant.suspension_profile, vault)


def desired_from_rows(
    subscriber: Subscriber, package: Package, suspension_profile: str | None, vault: Vault
) -> DesiredSubscriber:
    """The desired state from rows already read (`package` is `target_package_id`'s)."""
    password = (
        vault.decrypt(subscriber.password_encrypted) if subscriber.password_encrypted else None
    )
    return DesiredSubscriber(
        subscriber_id=subscriber.id,
        tenant_id=subscriber.tenant_id,
        router_id=subscriber.router_id,
        version=subscriber.desired_version,
        service=subscriber.service,
        username=subscriber.username,
        password=password,
        remote_address=subscriber.remote_address,
        static_ip=subscriber.static_ip,
        is_suspended=subscriber.is_suspended,
        remove=subscriber.pending_removal,
        package_id=package.id,
        profile_name=package.profile_name,
        rate_limit=package.rate_limit,
        package_change=subscriber.pending_package_id is not None,
        suspension_profile=suspension_profile,
    )


def desired_from_claimed(row: ClaimedRow, vault: Vault) -> DesiredSubscriber:
    """The desired state of a claimed row (`sync/state.py` read it with its target package)."""
    password = vault.decrypt(row.password_encrypted) if row.password_encrypted else None
    return DesiredSubscriber(
        subscriber_id=row.id,
        tenant_id=row.tenant_id,
        router_id=row.router_id,
        version=row.desired_version,
        service=row.service,
        username=row.username,
        password=password,
        remote_address=row.remote_address,
        static_ip=row.static_ip,
        is_suspended=row.is_suspended,
        remove=row.pending_removal,
        package_id=row.package_id,
        profile_name=row.profile_name,
        rate_limit=row.rate_limit,
        package_change=row.pending_package_id is not None,
        suspension_profile=row.suspension_profile,
    )
