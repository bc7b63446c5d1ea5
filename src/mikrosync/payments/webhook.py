"""The generic signed payment webhook, for gateways and billing systems other than M-Pesa.

The sender signs `"<timestamp>.<raw body>"` with HMAC-SHA256 under the webhook's secret and
sends `X-Mikrosync-Timestamp: <unix seconds>` and `X-Mikrosync-Signature: sha256=<hex>`.
A signature that does not verify, or a timestamp outside the replay window, is refused (401);
a replay inside the window is harmless anyway: the sender's reference makes a payment once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.session import SessionMaker
from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.http.fields import RequestModel
from mikrosync.payments.models import PaymentWebhook
from mikrosync.security.vault import Vault

REPLAY_WINDOW_S = 300
TIMESTAMP_HEADER = "X-Mikrosync-Timestamp"
SIGNATURE_HEADER = "X-Mikrosync-Signature"
# Names the M-Pesa and staff paths own: a webhook cannot write into their reference spaces.
RESERVED = frozenset({"mpesa", "cash", "bank", "other"})

_NOT_RESERVED: dict[str, Any] = {"not": {"enum": sorted(RESERVED)}}


class WebhookCreate(RequestModel):
    provider: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$", json_schema_extra=_NOT_RESERVED)
    """A short name (e.g. `equity-bank`); references are unique within it."""


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    created_by: str
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str
    """Shown once: the HMAC key the sender signs with."""
    path: str


class WebhookPayment(BaseModel):
    """What a sender posts (unknown fields are ignored, so senders can add their own)."""

    model_config = ConfigDict(extra="ignore")

    reference: str = Field(min_length=1, max_length=64)
    amount: StrictStr | StrictInt | StrictFloat
    method: Literal["bank", "mpesa", "other"] = "other"
    account: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    name: str | None = Field(default=None, max_length=200)
    received_at: AwareDatetime | None = None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str | None, signed: str | None, body: bytes, now_s: float
) -> str | None:
    """None if the request is authentic and fresh, else why not (for the log)."""
    if not timestamp or not signed:
        return "signature headers missing"
    if not re.fullmatch(r"\d{1,12}", timestamp):
        return "timestamp is not unix seconds"
    if abs(now_s - int(timestamp)) > REPLAY_WINDOW_S:
        return "timestamp outside the replay window"
    if not hmac.compare_digest(signature(secret, timestamp, body), signed.strip()):
        return "signature does not verify"
    return None


async def create(
    session: AsyncSession, *, tenant_id: int, data: WebhookCreate, vault: Vault, actor: str
) -> WebhookCreated:
    if data.provider in RESERVED:
        raise InvalidInput("provider", f"{data.provider!r} is reserved")
    secret = secrets.token_urlsafe(32)
    hook = PaymentWebhook(
        tenant_id=tenant_id,
        provider=data.provider,
        secret_encrypted=vault.encrypt(secret),
        created_by=actor,
    )
    session.add(hook)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"a webhook named {data.provider!r} exists") from None
    return WebhookCreated(
        id=hook.id,
        provider=hook.provider,
        created_by=hook.created_by,
        created_at=hook.created_at,
        secret=secret,
        path=f"/api/v1/callbacks/webhook/{hook.id}",
    )


async def list_hooks(session: AsyncSession, tenant_id: int) -> list[PaymentWebhook]:
    query = select(PaymentWebhook).where(PaymentWebhook.tenant_id == tenant_id)
    return list((await session.scalars(query.order_by(PaymentWebhook.id))).all())


async def delete(session: AsyncSession, *, tenant_id: int, webhook_id: int) -> None:
    hook = await session.get(PaymentWebhook, webhook_id)
    if hook is None or hook.tenant_id != tenant_id:
        raise NotFound("webhook not found")
    await session.delete(hook)
    await session.commit()


async def rotate_webhook_secrets(sessionmaker: SessionMaker, vault: Vault) -> int:
    """Re-encrypt every webhook secret with the current key (`mikrosync rotate-secrets`)."""
    async with sessionmaker() as session:
        rows = (await session.scalars(select(PaymentWebhook))).all()
        for hook in rows:
            hook.secret_encrypted = vault.rotate(hook.secret_encrypted)
        await session.commit()
    return len(rows)
