"""Where an operator's "disconnect this session" is written down: the subscriber's sync timeline
(or the voucher's), so the next person looking sees who ended it and when."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber, SyncEvent
from mikrosync.vouchers.models import Voucher
from mikrosync.vouchers.service import add_event

DISCONNECT_SESSION = "disconnectSession"


async def record_disconnect(
    session: AsyncSession, router: Router, *, name: str, detail: str, actor: str
) -> str:
    """Record the ended session on its subscriber or voucher; returns what it was recorded on."""
    subscriber = (
        await session.scalars(
            select(Subscriber).where(Subscriber.router_id == router.id, Subscriber.username == name)
        )
    ).first()
    if subscriber is not None:
        session.add(
            SyncEvent(
                tenant_id=subscriber.tenant_id,
                subscriber_id=subscriber.id,
                operation=DISCONNECT_SESSION,
                outcome="succeeded",
                message=f"live session ended by an operator ({detail})",
                actor=actor,
                created_at=now(),
            )
        )
        await session.commit()
        return f"subscriber {name}"
    voucher = (
        await session.scalars(
            select(Voucher).where(Voucher.router_id == router.id, Voucher.code == name)
        )
    ).first()
    if voucher is not None:
        add_event(session, voucher, "disconnected", f"live session ended ({detail})", actor)
        await session.commit()
        return f"voucher {name}"
    return f"login {name} (not managed here: nothing recorded)"
