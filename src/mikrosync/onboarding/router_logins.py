"""What a router holds for adoption: its PPP secrets, hotspot users and their profiles.

The router client reads only mikrosync's own objects (`iter_owned`); adoption needs the
others too, so this module streams whole menus, ONE print per menu, over a leased pool
session, parsing rows with the client's own record types as they arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mikrosync.packages.models import Service
from mikrosync.routeros import HotspotProfile, HotspotUser, PppProfile, PppSecret, RouterClient
from mikrosync.routeros.resources import R, RateProfile, from_row

Login = PppSecret | HotspotUser
LOGIN_KINDS: dict[str, tuple[type[Login], type[RateProfile]]] = {
    Service.PPPOE: (PppSecret, PppProfile),
    Service.HOTSPOT: (HotspotUser, HotspotProfile),
}
"""The menus adoption reads per service: the logins, then the profiles they name."""

Counter = Callable[[str], None]
"""Called with a menu path for every row read from it (progress)."""


@dataclass
class RouterLogins:
    """Every login that is not mikrosync's, per service, and every profile by name."""

    foreign: dict[str, list[Login]] = field(default_factory=dict)
    profiles: dict[str, dict[str, RateProfile]] = field(default_factory=dict)
    already_ours: int = 0
    read: dict[str, int] = field(default_factory=dict)


async def read_logins(client: RouterClient, on_row: Counter | None = None) -> RouterLogins:
    """Read the login and profile menus of both services (four prints in all)."""
    found = RouterLogins()
    for service, (login_kind, profile_kind) in LOGIN_KINDS.items():
        logins = await _print_all(client, login_kind, found, on_row)
        found.foreign[service] = [login for login in logins if login.owner is None]
        found.already_ours += len(logins) - len(found.foreign[service])
        profiles = await _print_all(client, profile_kind, found, on_row)
        found.profiles[service] = {profile.name: profile for profile in profiles}
    return found


async def _print_all(
    client: RouterClient, kind: type[R], found: RouterLogins, on_row: Counter | None
) -> list[R]:
    records: list[R] = []
    async with client.pool.connection() as session:
        async for row in session.stream(f"{kind.PATH}/print", f"=.proplist={kind.proplist()}"):
            records.append(from_row(kind, row))
            if on_row is not None:
                on_row(kind.PATH)
    found.read[kind.PATH] = len(records)
    return records
