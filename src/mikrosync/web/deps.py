"""FastAPI dependencies of the web UI: the runtime, a database session, the signed session
cookie, CSRF, and the logged-in staff user with their role.

The same `Principal` as the REST API (so the same role rules), found from the session cookie
instead of a bearer token. Views receive a `WebUser`; every write view asks for `Operator` or
`Admin`, so the server refuses a viewer's write whatever the page showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mikrosync.request_deps import RuntimeDep as RuntimeDep
from mikrosync.request_deps import SessionDep as SessionDep
from mikrosync.tenants.access import Principal
from mikrosync.tenants.models import ROLE_RANK, Role
from mikrosync.tenants.service import get_tenant, load_principal
from mikrosync.web import session as cookies
from mikrosync.web.csrf import check_csrf
from mikrosync.web.errors import LoginRequired

DbDep = SessionDep


def get_web_session(request: Request, runtime: RuntimeDep) -> cookies.WebSession | None:
    """The session in the request's cookie (None if absent, forged or expired)."""
    found = cookies.load(
        request.cookies.get(cookies.COOKIE_NAME),
        cookies.signing_key(runtime.secret_key),
        max_age_s=runtime.settings.token_ttl_minutes * 60,
    )
    request.state.web_session = found
    return found


WebSessionDep = Annotated[cookies.WebSession | None, Depends(get_web_session)]


async def csrf_guard(request: Request, session: WebSessionDep) -> None:
    """Router-wide: every POST must carry the session's CSRF token."""
    await check_csrf(request, session)


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    tenant_name: str
    timezone: str

    @property
    def scope(self) -> int:
        return self.principal.scope

    @property
    def email(self) -> str:
        return self.principal.email

    def can(self, role: Role | str) -> bool:
        """Whether the user's role allows `role`'s actions (templates hide what it does not)."""
        return ROLE_RANK[self.principal.role] >= ROLE_RANK[Role(role)]


async def get_user(request: Request, db: DbDep, session: WebSessionDep) -> WebUser:
    if session is None or session.user_id is None:
        raise LoginRequired()
    principal = await load_principal(db, user_id=session.user_id)
    if principal is None or principal.tenant_id is None:
        raise LoginRequired()
    tenant = await get_tenant(db, tenant_id=principal.tenant_id)
    if not tenant.is_active:
        raise LoginRequired()
    user = WebUser(principal=principal, tenant_name=tenant.name, timezone=tenant.timezone)
    request.state.web_user = user
    return user


UserDep = Annotated[WebUser, Depends(get_user)]


def role_at_least(role: Role) -> object:
    def check(user: UserDep) -> WebUser:
        user.principal.require(role)
        return user

    return Depends(check)


Reader = Annotated[WebUser, role_at_least(Role.VIEWER)]
Operator = Annotated[WebUser, role_at_least(Role.OPERATOR)]
Admin = Annotated[WebUser, role_at_least(Role.ADMIN)]
Owner = Annotated[WebUser, role_at_least(Role.OWNER)]
