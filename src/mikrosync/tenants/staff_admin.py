"""A tenant owner's management of its staff: invite, change role, disable or enable, reset a
password. Invitations and resets give a one-time password to hand over (there is no mail
service); it is shown once and only its hash is stored.

Guards: nobody changes their own role or disables themselves, and a tenant always keeps at
least one active owner (otherwise nobody could manage it from the console again).
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.routeros.value_rules import email_address
from mikrosync.security.passwords import hash_password
from mikrosync.tenants.models import Role, StaffUser
from mikrosync.tenants.service import create_staff_user

ONE_TIME_PASSWORD_BYTES = 12


def one_time_password() -> str:
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


async def get_staff_user(session: AsyncSession, *, tenant_id: int, user_id: int) -> StaffUser:
    user = await session.get(StaffUser, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound("staff user not found")
    return user


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput("role", f"choose one of {', '.join(r.value for r in Role)}") from None


async def invite(
    session: AsyncSession, *, tenant_id: int, email: str, role: str
) -> tuple[StaffUser, str]:
    """A new active staff user and their one-time password."""
    try:
        address = email_address(email.strip())
    except ValueError as exc:
        raise InvalidInput("email", str(exc)) from None
    password = one_time_password()
    user = await create_staff_user(
        session, tenant_id=tenant_id, email=address, password=password, role=_role(role)
    )
    return user, password


async def _active_owners(session: AsyncSession, tenant_id: int) -> int:
    query = select(func.count()).where(
        StaffUser.tenant_id == tenant_id,
        StaffUser.role == Role.OWNER,
        StaffUser.is_active.is_(True),
    )
    return int((await session.execute(query)).scalar_one())


async def _keeps_an_owner(session: AsyncSession, user: StaffUser) -> None:
    is_owner = user.role == Role.OWNER and user.is_active and user.tenant_id is not None
    if is_owner and await _active_owners(session, user.tenant_id or 0) <= 1:
        raise Conflict("this is the tenant's last active owner; make another owner first")


async def set_role(
    session: AsyncSession, *, tenant_id: int, user_id: int, role: str, by_user_id: int
) -> StaffUser:
    user = await get_staff_user(session, tenant_id=tenant_id, user_id=user_id)
    new_role = _role(role)
    if user.id == by_user_id:
        raise Conflict("you cannot change your own role")
    if new_role != Role.OWNER:
        await _keeps_an_owner(session, user)
    user.role = new_role
    await session.commit()
    return user


async def set_active(
    session: AsyncSession, *, tenant_id: int, user_id: int, active: bool, by_user_id: int
) -> StaffUser:
    """Disable (their sessions and tokens stop working at their next request) or enable."""
    user = await get_staff_user(session, tenant_id=tenant_id, user_id=user_id)
    if user.id == by_user_id:
        raise Conflict("you cannot disable yourself")
    if not active:
        await _keeps_an_owner(session, user)
    user.is_active = active
    await session.commit()
    return user


async def reset_password(
    session: AsyncSession, *, tenant_id: int, user_id: int
) -> tuple[StaffUser, str]:
    """A new one-time password for the user; the old one stops working at once."""
    user = await get_staff_user(session, tenant_id=tenant_id, user_id=user_id)
    password = one_time_password()
    user.password_hash = hash_password(password)
    await session.commit()
    return user, password
