"""Who is calling, and what their role lets them do. Every service takes the tenant id from a
Principal, so no query runs without a tenant scope."""

from __future__ import annotations

from dataclasses import dataclass

from mikrosync.errors import Forbidden
from mikrosync.tenants.models import ROLE_RANK, Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    role: Role
    tenant_id_or_none: int | None
    """The user's tenant; None for a platform admin."""
    is_platform_admin: bool

    def require(self, role: Role) -> None:
        """Raise Forbidden unless the caller's role is at least `role`."""
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise Forbidden(
                f"this action needs the {role.value} role or higher; you are {self.role.value}"
            )

    @property
    def tenant_id(self) -> int:
        """The caller's tenant id; platform admins have none and cannot act inside a tenant."""
        if self.tenant_id_or_none is None:
            raise Forbidden(
                "platform admins manage tenants; log in as a tenant's staff user "
                "to manage its routers, packages and subscribers"
            )
        return self.tenant_id_or_none
