"""M-Pesa: the tenant's Daraja account (admins), STK push (operators), and Daraja's
callbacks.

Daraja does not sign its callbacks, so each tenant's callback URL carries a secret token;
an unknown token, or a source outside the tenant's allow-list, gets 403 and a log line (never
the token itself). Answers are in Daraja's shape; malformed JSON is a 400 in that shape.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mikrosync.api.deps import Admin, Operator, RuntimeDep, SessionDep, VaultDep
from mikrosync.api.responses import OBJECTS, errors
from mikrosync.http.client import client_address
from mikrosync.http.fields import Id, RequestModel
from mikrosync.jobs.message_push import after_payment
from mikrosync.jobs.push import push_intents
from mikrosync.payments.mpesa import account as accounts
from mikrosync.payments.mpesa import callbacks, daraja
from mikrosync.payments.mpesa.client import DarajaError, register_account_urls
from mikrosync.payments.mpesa.stk import start_stk_push
from mikrosync.payments.schemas import WholeAmount

log = logging.getLogger(__name__)

router = APIRouter(tags=["mpesa"], responses=OBJECTS)

# Daraja's callbacks are a few hundred bytes; anything far larger is not one.
MAX_CALLBACK_BYTES = 64 * 1024


@router.get("/mpesa/account", operation_id="getMpesaAccount")
async def read_account(session: SessionDep, principal: Admin) -> accounts.MpesaAccountRead:
    """The tenant's Daraja settings (no credential, no callback token)."""
    return accounts.read(await accounts.get_account(session, principal.tenant_id))


@router.put("/mpesa/account", operation_id="saveMpesaAccount")
async def save_account(
    data: accounts.MpesaAccountWrite, session: SessionDep, vault: VaultDep, principal: Admin
) -> accounts.MpesaAccountSaved:
    """Set up or change Daraja credentials (encrypted at rest). The first setup answers the
    callback URLs once: register them with Daraja (or call register-urls)."""
    return await accounts.save_account(
        session, tenant_id=principal.tenant_id, data=data, vault=vault
    )


@router.post("/mpesa/account/rotate-callback", operation_id="rotateMpesaCallback")
async def rotate_callback(
    session: SessionDep, vault: VaultDep, principal: Admin
) -> accounts.MpesaAccountSaved:
    """A new secret callback URL; the old one is refused from now on."""
    return await accounts.rotate_token(session, tenant_id=principal.tenant_id, vault=vault)


@router.post(
    "/mpesa/account/register-urls",
    operation_id="registerMpesaUrls",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(502),
)
async def register_urls(session: SessionDep, vault: VaultDep, principal: Admin) -> None:
    """Register the C2B validation and confirmation URLs with Daraja for the shortcode."""
    try:
        await register_account_urls(session, tenant_id=principal.tenant_id, vault=vault)
    except DarajaError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None


_SEP = "[ ()-]*"
PHONE_PATTERN = (
    f"^{_SEP}\\+?{_SEP}(?:0(?:{_SEP}[0-9]){{9}}|[71](?:{_SEP}[0-9]){{8}}"
    f"|2{_SEP}5{_SEP}4(?:{_SEP}[0-9]){{9}}){_SEP}$"
)
"""A Kenyan phone number as `daraja.normalize_msisdn` reads it (07.., 01.., +254..)."""


class StkPushCreate(RequestModel):
    subscriber_id: Id
    amount: WholeAmount
    phone: str | None = Field(default=None, max_length=20, pattern=PHONE_PATTERN)
    """Default: the subscriber's phone."""


class StkPushRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    checkout_request_id: str
    subscriber_id: int | None
    phone: str
    status: str


@router.post(
    "/payments/stk-push",
    operation_id="startStkPush",
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(502),
)
async def stk_push(
    data: StkPushCreate,
    session: SessionDep,
    vault: VaultDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> StkPushRead:
    """Prompt the payer's phone for an M-Pesa payment; the payment is recorded when Daraja
    calls back (then the subscriber is renewed and reconnected)."""
    try:
        started = await start_stk_push(
            session,
            tenant_id=principal.tenant_id,
            subscriber_id=data.subscriber_id,
            amount=data.amount,
            phone=data.phone,
            vault=vault,
            actor=principal.email,
        )
    except DarajaError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    if started.recorded is not None and started.recorded.subscriber is not None:
        await push_intents(runtime.queue, [started.recorded.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, started.recorded)
    return StkPushRead.model_validate(started.request)


def _daraja(status_code: int, reason: str) -> JSONResponse:
    return JSONResponse(daraja.rejected(1, reason), status_code=status_code)


@router.post("/callbacks/daraja/{token}/{kind}", include_in_schema=False)
async def mpesa_callback(
    token: str,
    kind: Literal["validation", "confirmation", "stk"],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    source = client_address(request)
    account = await accounts.by_token(session, token)
    if account is None:
        log.warning("M-Pesa %s callback on an unknown callback URL from %s", kind, source)
        return _daraja(403, "unknown callback URL")
    if not accounts.source_allowed(account, source):
        log.warning(
            "M-Pesa %s callback for tenant %s from %s, outside its allow-list",
            kind,
            account.tenant_id,
            source,
        )
        return _daraja(403, "source not allowed")
    raw = await request.body()
    body: Any = None
    if len(raw) <= MAX_CALLBACK_BYTES:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
    if not isinstance(body, dict):
        log.warning(
            "M-Pesa %s callback for tenant %s: malformed JSON (%d bytes)",
            kind,
            account.tenant_id,
            len(raw),
        )
        return _daraja(400, "malformed JSON")
    if kind == "validation":
        answer = await callbacks.c2b_validation(account, body)
    elif kind == "confirmation":
        answer = await callbacks.c2b_confirmation(session, account, body)
    else:
        answer = await callbacks.stk_callback(session, account, body)
    if answer.subscriber is not None:
        await push_intents(runtime.queue, [answer.subscriber])
    if answer.recorded is not None:
        await after_payment(runtime.sessionmaker, runtime.queue, answer.recorded)
    return JSONResponse(answer.body, status_code=answer.status)
