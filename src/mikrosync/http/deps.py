"""Request dependencies shared by the REST API and the web console: the process Runtime, a
database session per request, and the role check.

Each delivery finds its caller its own way (a bearer token in `api/deps.py`, the login cookie
in `web/deps.py`) and declares its `Reader`/`Operator`/`Admin`/`Owner` with `role_at_least`
over that dependency; the rule itself (`Principal.require`) is written once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.runtime import Runtime
from mikrosync.tenants.access import Principal
from mikrosync.tenants.models import Role


# Every dependency here is `async def`: FastAPI runs a plain `def` one in a worker thread, a
# thread hop per request for work that never blocks (6 % of a loaded `serve` process's CPU).
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


READ_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    # A GET or HEAD never writes (HTTP's rule, and ours): it reads without a transaction.
    maker = runtime.read_sessionmaker if request.method in READ_METHODS else runtime.sessionmaker
    async with runtime.request_sessions.admitted(), maker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def role_at_least(role: Role, caller: Callable[..., Any]) -> Any:
    """A dependency that admits the caller that `caller` finds (a Principal, or a delivery's
    wrapper of one with a `.principal`) if its role is at least `role`; Forbidden otherwise."""

    # `caller` goes in the default, not the annotation: annotations are strings here (PEP 563)
    # and FastAPI resolves them in this module's globals, where a closure's name is unknown.
    async def check(found: Any = Depends(caller)) -> Any:
        principal: Principal = found if isinstance(found, Principal) else found.principal
        principal.require(role)
        return found

    return Depends(check)
