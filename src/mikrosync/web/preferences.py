"""The tenant's settings the console offers its owner: the time zone dates are shown in.

A small write kept beside the UI that alone uses it; like every domain write it is
tenant-scoped and validated here, not in the view.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import InvalidInput
from mikrosync.tenants.models import Tenant
from mikrosync.tenants.service import get_tenant


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


async def set_time_zone(session: AsyncSession, *, tenant_id: int, timezone: str) -> Tenant:
    if timezone not in time_zones():
        raise InvalidInput(
            "timezone", f"{timezone!r} is not an IANA time zone such as Africa/Nairobi"
        )
    tenant = await get_tenant(session, tenant_id=tenant_id)
    tenant.timezone = timezone
    await session.commit()
    return tenant
