"""Which subscriber a provider's payment is for: by the account the payer typed (username,
then account number = subscriber id), then by the payer's phone. Ambiguity never guesses:
two candidates leave the payment unmatched for an operator."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.payments.mpesa.daraja import normalize_msisdn
from mikrosync.subscribers.models import Subscriber

# Subscribers scanned for a phone match; phones are stored as typed, so they are normalised
# in Python (a tenant has thousands, not millions).
_PHONE_SCAN_LIMIT = 200_000


async def match_subscriber(
    session: AsyncSession, tenant_id: int, *, account: str | None, phone: str | None
) -> int | None:
    live = (Subscriber.tenant_id == tenant_id, Subscriber.pending_removal.is_(False))
    if account:
        reference = account.strip()
        by_name = (
            await session.scalars(
                select(Subscriber.id)
                .where(*live, func.lower(Subscriber.username) == reference.lower())
                .limit(2)
            )
        ).all()
        if len(by_name) == 1:
            return by_name[0]
        number = reference.lstrip("#")
        if not by_name and number.isdigit() and len(number) <= 9:
            by_id = await session.scalar(
                select(Subscriber.id).where(*live, Subscriber.id == int(number))
            )
            if by_id is not None:
                return by_id
    wanted = normalize_msisdn(phone)
    if wanted is None:
        return None
    rows = await session.execute(
        select(Subscriber.id, Subscriber.phone)
        .where(*live, Subscriber.phone.is_not(None))
        .limit(_PHONE_SCAN_LIMIT)
    )
    found = [sid for sid, stored in rows if normalize_msisdn(stored) == wanted]
    return found[0] if len(found) == 1 else None
