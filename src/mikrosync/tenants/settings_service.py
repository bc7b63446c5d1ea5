"""A tenant's own settings: the suspension profile and the reconciliation policy.

Who calls it: `api/routes/tenant_settings.py` (read by any staff user, changed by admins and
owners) and `sync/reconcile.py`, which reads the effective policy through `effective_policy`.
`ReconcilePolicy` is the one place the drift kinds' allowed actions and defaults are spelled,
so the API's validation and the reconciler can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import NotFound
from mikrosync.routeros.value_rules import PROFILE_NAME_SCHEMA, optional, profile_name
from mikrosync.tenants.models import Tenant

log = logging.getLogger(__name__)

FixOrReport = Literal["fix", "report"]


class ReconcilePolicy(BaseModel):
    """What reconciliation does with each kind of drift.

    `unmanaged` can only be reported: mikrosync never touches an object that is not tagged as
    its own (DESIGN §1.6). A PATCH sends only the kinds it changes (`model_fields_set`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing: FixOrReport = "fix"
    different: FixOrReport = "fix"
    orphan: Literal["remove", "report"] = "remove"
    unmanaged: Literal["report"] = "report"
    profile_drift: FixOrReport = "fix"

    def action(self, kind: str) -> str:
        value: str = getattr(self, kind)
        return value


class TenantSettingsRead(BaseModel):
    suspension_profile: str | None
    """PPP/hotspot profile suspended subscribers move to; None: suspension disables them."""
    reconcile_policy: ReconcilePolicy
    """The effective policy (defaults filled in)."""


class TenantSettingsUpdate(BaseModel):
    """PATCH body: only the fields given change; `reconcile_policy` merges per kind, and
    `"reconcile_policy": null` goes back to the defaults."""

    model_config = ConfigDict(extra="forbid")

    suspension_profile: str | None = Field(
        default=None,
        description="A RouterOS profile name; blank or null: disable instead",
        json_schema_extra={"pattern": f"^$|{PROFILE_NAME_SCHEMA['pattern']}"},
    )
    reconcile_policy: ReconcilePolicy | None = None

    _profile = field_validator("suspension_profile")(optional(profile_name, blank_is_absent=True))


def effective_policy(stored: Mapping[str, Any] | None) -> ReconcilePolicy:
    """The stored policy over the defaults. Entries that do not validate (the column was
    edited by hand) fall back to their default rather than stopping every reconciliation."""
    stored = dict(stored or {})
    try:
        return ReconcilePolicy.model_validate(stored)
    except ValidationError as exc:
        bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        log.warning("ignoring invalid reconcile policy entries %s", sorted(bad))
        return ReconcilePolicy.model_validate({k: v for k, v in stored.items() if k not in bad})


def _read(tenant: Tenant) -> TenantSettingsRead:
    return TenantSettingsRead(
        suspension_profile=tenant.suspension_profile,
        reconcile_policy=effective_policy(tenant.reconcile_policy),
    )


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


async def read_tenant_settings(session: AsyncSession, *, tenant_id: int) -> TenantSettingsRead:
    return _read(await _tenant(session, tenant_id))


async def update_tenant_settings(
    session: AsyncSession, *, tenant_id: int, data: TenantSettingsUpdate
) -> TenantSettingsRead:
    """Change the given settings. A new suspension profile reaches suspended subscribers that
    are already on their routers through reconciliation (it reports them as `different`)."""
    tenant = await _tenant(session, tenant_id)
    if "suspension_profile" in data.model_fields_set:
        tenant.suspension_profile = data.suspension_profile
    if "reconcile_policy" in data.model_fields_set:
        policy = data.reconcile_policy
        changes = policy.model_dump(exclude_unset=True) if policy is not None else None
        # A new dict, not an in-place edit: the JSON column only notices assignment.
        tenant.reconcile_policy = {} if changes is None else {**tenant.reconcile_policy, **changes}
    await session.commit()
    return _read(tenant)
