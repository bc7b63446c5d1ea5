"""The pure decision: which router objects a subscriber's desired state needs (no I/O).

`plan_subscriber` maps a DesiredSubscriber to a RouterPlan; `apply.py` carries it out through
the router client, whose `ensure` writes only what differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from mikrosync.packages.models import Service
from mikrosync.routeros import (
    ActiveKind,
    AddressListEntry,
    HotspotProfile,
    HotspotUser,
    OwnerTag,
    PppProfile,
    PppSecret,
    Record,
    SimpleQueue,
)
from mikrosync.routeros.resources import RateProfile
from mikrosync.sync.desired import DesiredSubscriber

KINDS_BY_SERVICE: dict[str, tuple[type[Record], ...]] = {
    Service.PPPOE: (PppSecret,),
    Service.HOTSPOT: (HotspotUser,),
    Service.STATIC: (SimpleQueue, AddressListEntry),
}
SESSION_KIND: dict[str, ActiveKind] = {Service.PPPOE: "ppp", Service.HOTSPOT: "hotspot"}


@dataclass(frozen=True)
class RouterPlan:
    """What the router must hold for one subscriber."""

    tag: OwnerTag
    profile: RateProfile | None = None
    ensure: tuple[Record, ...] = ()
    # Kinds of which every object carrying the subscriber's tag must be gone.
    remove: tuple[type[Record], ...] = ()
    # Owned objects of these kinds must match `ensure` exactly (stale extras are removed).
    exclusive: tuple[type[Record], ...] = ()
    kick: ActiveKind | None = None
    verify_offline: bool = False
    # The plan stops the login from starting sessions (disabled, or removed) before the kick.
    login_blocked: bool = False
    # Nothing of the subscriber was confirmed on the router yet: add its objects first.
    fresh: bool = False
    # The login whose sessions `kick` ends when the plan ensures no login (removal).
    session_user: str | None = None


def subscriber_tag(desired: DesiredSubscriber) -> OwnerTag:
    return OwnerTag.subscriber(desired.tenant_id, desired.subscriber_id)


def package_tag(tenant_id: int, package_id: int) -> OwnerTag:
    return OwnerTag.package(tenant_id, package_id)


def first_rate_pair(rate_limit: str) -> str:
    """A simple queue's max-limit is the first `upload/download` pair of a rate limit."""
    return rate_limit.split()[0]


def plan_subscriber(desired: DesiredSubscriber, *, fresh: bool = False) -> RouterPlan:
    """`fresh`: nothing of the subscriber was confirmed on the router yet (`synced_version`
    is 0), so its objects are most likely absent and are added first."""
    tag = subscriber_tag(desired)
    kinds = KINDS_BY_SERVICE[desired.service]
    session_kind = SESSION_KIND.get(desired.service)
    if desired.remove:
        return RouterPlan(
            tag=tag,
            remove=kinds,
            kick=session_kind,
            verify_offline=True,
            login_blocked=True,
            session_user=desired.username,
        )
    if desired.service == Service.STATIC:
        return _plan_static(desired, tag, fresh)
    return _plan_login(desired, tag, session_kind, fresh)


def _plan_login(
    desired: DesiredSubscriber, tag: OwnerTag, session_kind: ActiveKind | None, fresh: bool
) -> RouterPlan:
    comment = tag.render()
    profile_tag = package_tag(desired.tenant_id, desired.package_id).render()
    # A tenant's suspension profile (captive "please pay" page) keeps the login enabled but
    # moves it; without one, suspension disables the login.
    captive = desired.is_suspended and desired.suspension_profile is not None
    profile = desired.suspension_profile if captive else desired.profile_name
    disabled = desired.is_suspended and not captive
    login: Record
    rate_profile: RateProfile
    if desired.service == Service.PPPOE:
        rate_profile = PppProfile(
            name=desired.profile_name, rate_limit=desired.rate_limit, comment=profile_tag
        )
        login = PppSecret(
            name=desired.username,
            password=desired.password,
            profile=profile,
            service="pppoe",
            remote_address=desired.remote_address,
            comment=comment,
            disabled=disabled,
        )
    else:
        rate_profile = HotspotProfile(
            name=desired.profile_name, rate_limit=desired.rate_limit, comment=profile_tag
        )
        login = HotspotUser(
            name=desired.username,
            password=desired.password,
            profile=profile,
            comment=comment,
            disabled=disabled,
        )
    return RouterPlan(
        tag=tag,
        profile=rate_profile,
        ensure=(login,),
        kick=session_kind if desired.is_suspended or desired.package_change else None,
        verify_offline=desired.is_suspended,
        login_blocked=disabled,
        fresh=fresh,
    )


def _plan_static(desired: DesiredSubscriber, tag: OwnerTag, fresh: bool) -> RouterPlan:
    assert desired.static_ip is not None
    comment = tag.render()
    queue = SimpleQueue(
        name=desired.username,
        target=desired.static_ip,
        max_limit=first_rate_pair(desired.rate_limit),
        comment=comment,
    )
    if desired.is_suspended:
        block = AddressListEntry(address=desired.static_ip, comment=comment)
        return RouterPlan(
            tag=tag, ensure=(queue, block), exclusive=(AddressListEntry,), fresh=fresh
        )
    return RouterPlan(tag=tag, ensure=(queue,), remove=(AddressListEntry,), fresh=fresh)
