"""GET/PATCH /tenant/settings: defaults, per-kind merging, validation, roles and isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mikrosync.tenants.models import Role
from mikrosync.tenants.settings_service import effective_policy
from tests.plugins.core import Staff, TenantFactory

URL = "/api/v1/tenant/settings"
DEFAULT_POLICY = {
    "missing": "fix",
    "different": "fix",
    "orphan": "remove",
    "unmanaged": "report",
    "profile_drift": "fix",
}


async def _patch(client: httpx.AsyncClient, staff: Staff, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(URL, json=body, headers=staff.headers)


async def test_defaults(client: httpx.AsyncClient, owner: Staff) -> None:
    response = await client.get(URL, headers=owner.headers)
    assert response.status_code == 200
    assert response.json() == {"suspension_profile": None, "reconcile_policy": DEFAULT_POLICY}


async def test_policy_changes_merge_per_kind_and_null_resets(
    client: httpx.AsyncClient, owner: Staff
) -> None:
    first = await _patch(client, owner, {"reconcile_policy": {"orphan": "report"}})
    assert first.status_code == 200, first.text
    second = await _patch(client, owner, {"reconcile_policy": {"missing": "report"}})
    assert second.json()["reconcile_policy"] == DEFAULT_POLICY | {
        "orphan": "report",
        "missing": "report",
    }
    profile = await _patch(client, owner, {"suspension_profile": "please-pay"})
    assert profile.json()["suspension_profile"] == "please-pay"
    assert profile.json()["reconcile_policy"]["orphan"] == "report"
    reset = await _patch(client, owner, {"reconcile_policy": None, "suspension_profile": ""})
    assert reset.json() == {"suspension_profile": None, "reconcile_policy": DEFAULT_POLICY}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reconcile_policy": {"ghosts": "remove"}}, "ghosts"),
        ({"reconcile_policy": {"orphan": "fix"}}, "orphan"),
        ({"reconcile_policy": {"missing": "remove"}}, "missing"),
        ({"reconcile_policy": {"unmanaged": "remove"}}, "unmanaged"),
        ({"reconcile_policy": "fix everything"}, "reconcile_policy"),
        ({"suspension_profile": "no spaces allowed"}, "suspension_profile"),
        ({"timezone": "UTC"}, "timezone"),
    ],
)
async def test_invalid_values_are_422_naming_the_field(
    client: httpx.AsyncClient, owner: Staff, body: dict[str, Any], field: str
) -> None:
    response = await _patch(client, owner, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field


async def test_only_admins_and_owners_change_settings(
    client: httpx.AsyncClient, factory: TenantFactory, owner: Staff
) -> None:
    body = {"reconcile_policy": {"orphan": "report"}}
    for role in (Role.VIEWER, Role.OPERATOR):
        staff = await factory.staff(owner.tenant_id, role)
        assert (await client.get(URL, headers=staff.headers)).status_code == 200
        assert (await _patch(client, staff, body)).status_code == 403, role
    admin = await factory.staff(owner.tenant_id, Role.ADMIN)
    assert (await _patch(client, admin, body)).status_code == 200
    platform = await factory.staff(None)
    assert (await client.get(URL, headers=platform.headers)).status_code == 403


async def test_a_tenant_changes_only_its_own_settings(
    client: httpx.AsyncClient, factory: TenantFactory, owner: Staff
) -> None:
    other = await factory.staff(await factory.tenant())
    await _patch(client, other, {"reconcile_policy": {"orphan": "report"}})
    mine = (await client.get(URL, headers=owner.headers)).json()
    assert mine["reconcile_policy"] == DEFAULT_POLICY


def test_a_stored_policy_that_does_not_validate_falls_back_per_kind() -> None:
    policy = effective_policy({"orphan": "report", "unmanaged": "remove", "bogus": "fix"})
    assert policy.model_dump() == DEFAULT_POLICY | {"orphan": "report"}
