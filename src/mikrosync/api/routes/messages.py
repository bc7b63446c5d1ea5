"""Customer message settings (admins): channels, templates, reminder days. The SMTP password
and the SMS API key are write-only and encrypted at rest."""

from __future__ import annotations

from fastapi import APIRouter

from mikrosync.api.deps import Admin, SessionDep, VaultDep
from mikrosync.api.responses import OBJECTS
from mikrosync.messages import settings as message_settings

router = APIRouter(prefix="/message-settings", tags=["messages"], responses=OBJECTS)


@router.get("", operation_id="getMessageSettings")
async def read_settings(
    session: SessionDep, principal: Admin
) -> message_settings.MessageSettingsRead:
    return message_settings.read(await message_settings.load(session, principal.tenant_id))


@router.patch("", operation_id="updateMessageSettings")
async def update_settings(
    data: message_settings.MessageSettingsWrite,
    session: SessionDep,
    vault: VaultDep,
    principal: Admin,
) -> message_settings.MessageSettingsRead:
    """Change only the fields given; templates use {name}, {username}, {amount}, {balance},
    {expiry}, {price}, {currency}, {days}."""
    return await message_settings.update(session, principal.tenant_id, data, vault)
