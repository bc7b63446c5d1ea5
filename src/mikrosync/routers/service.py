"""Router operations. The API password is encrypted before it reaches the session. Deleting a
router depends on its subscribers, so it lives in `mikrosync.usecases.routers`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, NotFound, StateConflict
from mikrosync.routers.models import Router
from mikrosync.routers.schemas import ONE_TRUST_MODE, RouterCreate, RouterUpdate, both_trust_modes
from mikrosync.security.vault import Vault


async def get_router(session: AsyncSession, *, tenant_id: int, router_id: int) -> Router:
    router = await session.get(Router, router_id)
    if router is None or router.tenant_id != tenant_id:
        raise NotFound("router not found")
    return router


async def list_routers(session: AsyncSession, *, tenant_id: int) -> Sequence[Router]:
    query = select(Router).where(Router.tenant_id == tenant_id).order_by(Router.name)
    return (await session.scalars(query)).all()


async def find_router(session: AsyncSession, *, tenant_id: int, name_or_id: str) -> Router:
    """A router by name, or by id when the argument is numeric (CLI convenience)."""
    query = select(Router).where(Router.tenant_id == tenant_id, Router.name == name_or_id)
    router = (await session.scalars(query)).one_or_none()
    if router is None and name_or_id.isdigit():
        return await get_router(session, tenant_id=tenant_id, router_id=int(name_or_id))
    if router is None:
        raise NotFound(f"no router named {name_or_id!r}")
    return router


async def _check_name_free(
    session: AsyncSession, *, tenant_id: int, name: str, except_id: int | None = None
) -> None:
    query = select(Router.id).where(Router.tenant_id == tenant_id, Router.name == name)
    existing = (await session.scalars(query)).one_or_none()
    if existing is not None and existing != except_id:
        raise Conflict(f"a router named {name!r} already exists")


async def create_router(
    session: AsyncSession, *, tenant_id: int, data: RouterCreate, vault: Vault
) -> Router:
    await _check_name_free(session, tenant_id=tenant_id, name=data.name)
    router = Router(
        tenant_id=tenant_id,
        password_encrypted=vault.encrypt(data.password),
        last_drift_counts={},
        **data.model_dump(exclude={"password"}),
    )
    session.add(router)
    await session.commit()
    return router


async def update_router(
    session: AsyncSession, *, tenant_id: int, router_id: int, data: RouterUpdate, vault: Vault
) -> Router:
    router = await get_router(session, tenant_id=tenant_id, router_id=router_id)
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    _check_one_trust_mode(router, data)
    if "name" in changes:
        await _check_name_free(
            session, tenant_id=tenant_id, name=changes["name"], except_id=router.id
        )
    for field, value in changes.items():
        if value is not None or field == "tls_fingerprint":
            setattr(router, field, value)
    if data.password is not None:
        router.password_encrypted = vault.encrypt(data.password)
    await session.commit()
    return router


def _check_one_trust_mode(router: Router, data: RouterUpdate) -> None:
    """Both a pinned fingerprint and "accept any certificate" would stop every connection to
    the router; judge what the row will hold (a None fingerprint clears it, a None
    tls_insecure leaves it)."""
    given = data.model_fields_set
    fingerprint = data.tls_fingerprint if "tls_fingerprint" in given else router.tls_fingerprint
    insecure = router.tls_insecure if data.tls_insecure is None else data.tls_insecure
    if both_trust_modes(fingerprint, insecure):
        field = "tls_insecure" if "tls_insecure" in given else "tls_fingerprint"
        raise StateConflict(field, ONE_TRUST_MODE)
