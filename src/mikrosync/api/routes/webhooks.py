"""Generic payment webhooks: admins create them (the secret is shown once); senders post
HMAC-signed payments, recorded once per reference like every payment."""

from __future__ import annotations

import json
import logging
import time

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from mikrosync.api.deps import Admin, RuntimeDep, SessionDep, VaultDep
from mikrosync.api.responses import OBJECTS
from mikrosync.errors import InvalidInput
from mikrosync.http.fields import Id
from mikrosync.jobs.message_push import after_payment
from mikrosync.jobs.push import push_intents
from mikrosync.payments import service
from mikrosync.payments import webhook as hooks
from mikrosync.payments.matching import match_subscriber
from mikrosync.payments.models import Method, PaymentWebhook

log = logging.getLogger(__name__)

router = APIRouter(tags=["payments"], responses=OBJECTS)
MAX_BODY_BYTES = 64 * 1024


@router.post(
    "/payment-webhooks", operation_id="createPaymentWebhook", status_code=status.HTTP_201_CREATED
)
async def create_webhook(
    data: hooks.WebhookCreate, session: SessionDep, vault: VaultDep, principal: Admin
) -> hooks.WebhookCreated:
    """A new signed webhook; its secret is in this answer only."""
    return await hooks.create(
        session, tenant_id=principal.tenant_id, data=data, vault=vault, actor=principal.email
    )


@router.get("/payment-webhooks", operation_id="listPaymentWebhooks")
async def list_webhooks(session: SessionDep, principal: Admin) -> list[hooks.WebhookRead]:
    return [
        hooks.WebhookRead.model_validate(h)
        for h in await hooks.list_hooks(session, principal.tenant_id)
    ]


@router.delete(
    "/payment-webhooks/{webhook_id:int}",
    operation_id="deletePaymentWebhook",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_webhook(webhook_id: Id, session: SessionDep, principal: Admin) -> None:
    await hooks.delete(session, tenant_id=principal.tenant_id, webhook_id=webhook_id)


def _answer(code: int, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=code)


@router.post("/callbacks/webhook/{webhook_id}", include_in_schema=False)
async def receive(
    webhook_id: int, request: Request, session: SessionDep, runtime: RuntimeDep
) -> JSONResponse:
    hook = await session.get(PaymentWebhook, webhook_id) if 0 < webhook_id < 2**31 else None
    raw = await request.body()
    if hook is None:
        log.warning("payment webhook %s: unknown webhook", webhook_id)
        return _answer(401, "unknown webhook or bad signature")
    refused = hooks.verify(
        runtime.vault.decrypt(hook.secret_encrypted),
        request.headers.get(hooks.TIMESTAMP_HEADER),
        request.headers.get(hooks.SIGNATURE_HEADER),
        raw,
        time.time(),
    )
    if refused is not None:
        log.warning("payment webhook %s (tenant %s) refused: %s", hook.id, hook.tenant_id, refused)
        return _answer(401, "unknown webhook or bad signature")
    try:
        body = (
            hooks.WebhookPayment.model_validate(json.loads(raw))
            if len(raw) <= MAX_BODY_BYTES
            else None
        )
    except (ValueError, ValidationError):
        body = None
    if body is None:
        log.warning("payment webhook %s: malformed body", hook.id)
        return _answer(400, "malformed body: JSON with reference and amount expected")
    subscriber_id = await match_subscriber(
        session, hook.tenant_id, account=body.account, phone=body.phone
    )
    try:
        recorded = await service.record_payment(
            session,
            tenant_id=hook.tenant_id,
            data=service.NewPayment(
                amount=body.amount,
                method=Method(body.method),
                provider=hook.provider,
                provider_reference=body.reference,
                subscriber_id=subscriber_id,
                account_reference=body.account,
                payer_phone=body.phone,
                payer_name=body.name,
                received_at=body.received_at,
                raw=json.loads(raw),
            ),
            actor=f"webhook:{hook.provider}",
        )
    except InvalidInput as exc:
        log.warning("payment webhook %s refused %r: %s", hook.id, body.reference, exc.message)
        return _answer(422, exc.message, field=exc.field)
    if recorded.subscriber is not None:
        await push_intents(runtime.queue, [recorded.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, recorded)
    return _answer(
        200,
        "duplicate" if recorded.duplicate else "recorded",
        payment_id=recorded.payment.id,
        status=recorded.payment.status,
    )
