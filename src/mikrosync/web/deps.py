"""FastAPI dependencies of the web UI: the runtime, a database session, the signed login
cookie, CSRF, and the logged-in staff user with their role.

The same `Principal` as the REST API (so the same role rules), found from the login cookie
instead of a bearer token. Views receive a `WebUser`; every write view asks for `Operator` or
`Admin`, so the server refuses a viewer's write whatever the page showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mikrosync.http.deps import RuntimeDep as RuntimeDep
from mikrosync.http.deps import SessionDep as SessionDep
from mikrosync.http.deps import role_at_least
from mikrosync.tenants.access import Principal
from mikrosync.tenants.models import ROLE_RANK, Role
from mikrosync.tenants.service import get_tenant, load_principal
from mikrosync.web import login_cookie as cookies
from mikrosync.web.csrf import check_csrf
from mikrosync.web.errors import LoginRequired

DbDep = SessionDep


async def get_web_login(request: Request, runtime: RuntimeDep) -> cookies.WebLogin | None:
    """The login in the request's cookie (None if absent, forged or expired)."""
    found = cookies.load(
        request.cookies.get(cookies.COOKIE_NAME),
        cookies.signing_key(runtime.secret_key),
        max_age_s=runtime.settings.token_ttl_minutes * 60,
    )
    request.state.web_login = found
    return found


WebLoginDep = Annotated[cookies.WebLogin | None, Depends(get_web_login)]


async def csrf_guard(request: Request, login: WebLoginDep) -> None:
    """Router-wide: every POST must carry the login's CSRF token."""
    await check_csrf(request, login)


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    tenant_name: str
    timezone: str

    @property
    def tenant_id(self) -> int:
        return self.principal.tenant_id

    @property
    def email(self) -> str:
        return self.principal.email

    def can(self, role: Role | str) -> bool:
        """Whether the user's role allows `role`'s actions (templates hide what it does not)."""
        return ROLE_RANK[self.principal.role] >= ROLE_RANK[Role(role)]


async def get_user(request: Request, db: DbDep, login: WebLoginDep) -> WebUser:
    if login is None or login.user_id is None:
        raise LoginRequired()
    principal = await load_principal(db, user_id=login.user_id)
    if principal is None or principal.tenant_id_or_none is None:
        raise LoginRequired()
    tenant = await get_tenant(db, tenant_id=principal.tenant_id)
    if not tenant.is_active:
        raise LoginRequired()
    user = WebUser(principal=principal, tenant_name=tenant.name, timezone=tenant.timezone)
    request.state.web_user = user
    return user


UserDep = Annotated[WebUser, Depends(get_user)]


Reader = Annotated[WebUser, role_at_least(Role.VIEWER, get_user)]
Operator = Annotated[WebUser, role_at_least(Role.OPERATOR, get_user)]
Admin = Annotated[WebUser, role_at_least(Role.ADMIN, get_user)]
Owner = Annotated[WebUser, role_at_least(Role.OWNER, get_user)]
