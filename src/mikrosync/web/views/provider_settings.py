"""Settings for admins (issue 15): the tenant's M-Pesa (Daraja) account and generic payment
webhooks (`/settings/payments`), and customer messages (`/settings/messages`), as the API's
`/mpesa/account`, `/payment-webhooks` and `/message-settings` allow.

Every write calls the same service functions as those API routes, after the same request
models validated the form. Credentials are write-only: a field left empty keeps the stored
value, and the page says only "set" or "not set". What exists in clear once only (the secret
callback URLs when they are made, a webhook's signing secret) is shown on the answer to the
form that made it, marked `no-store`, and never again: not in a flash (the login cookie), not
in a log line, not on the next page.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request, Response

from mikrosync.errors import NotFound
from mikrosync.http.client import is_https
from mikrosync.http.fields import Id
from mikrosync.messages import settings as message_settings
from mikrosync.messages.models import Event
from mikrosync.messages.templates import DEFAULTS, PLACEHOLDERS
from mikrosync.payments import webhook as hooks
from mikrosync.payments.models import MpesaAccount
from mikrosync.payments.mpesa import account as accounts
from mikrosync.payments.mpesa.client import DarajaError, register_account_urls
from mikrosync.web.audit import audited
from mikrosync.web.deps import Admin, DbDep, RuntimeDep, WebUser
from mikrosync.web.forms import FORM_ERROR, Form
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router

router = web_router("/settings")

PAYMENTS_URL = "/settings/payments"
MESSAGES_URL = "/settings/messages"
MPESA_SECRETS = ("consumer_key", "consumer_secret", "passkey")
EVENT_LABELS = {
    Event.PAYMENT_RECEIVED: "Payment received",
    Event.RECONNECTED: "Reconnected after a payment",
    Event.EXPIRING: "Expiring soon (reminder)",
    Event.EXPIRED: "Expired",
}
SMS_PROVIDERS = (("generic", "generic HTTP"), ("africastalking", "Africa's Talking"))
MESSAGE_SECRETS = ("smtp_password", "sms_api_key")
MESSAGE_TEXT_FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_from",
    "sms_url",
    "sms_username",
    "sms_sender",
    "sms_body_template",
)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


async def _account(db: DbDep, tenant_id: int) -> MpesaAccount | None:
    try:
        return await accounts.get_account(db, tenant_id)
    except NotFound:
        return None


def _account_form(account: MpesaAccount | None) -> Form:
    if account is None:
        return Form(values={"api_url": accounts.SANDBOX_URL})
    shown = accounts.read(account)
    return Form(
        values={
            "shortcode": shown.shortcode,
            "api_url": shown.api_url,
            "callback_base_url": shown.callback_base_url,
            "allowed_sources": "\n".join(shown.allowed_sources),
        }
    )


async def _payments_page(
    request: Request,
    db: DbDep,
    user: WebUser,
    *,
    form: Form | None = None,
    hook_form: Form | None = None,
    callback_urls: accounts.CallbackUrls | None = None,
    created_hook: hooks.WebhookCreated | None = None,
    status_code: int = 200,
) -> Response:
    account = await _account(db, user.tenant_id)
    context: dict[str, Any] = {
        "section": "settings",
        "subsection": "payments",
        "account": accounts.read(account) if account is not None else None,
        "form": form or _account_form(account),
        "hook_form": hook_form or Form(),
        "hooks": await hooks.list_hooks(db, user.tenant_id),
        "callback_urls": callback_urls,
        "created_hook": created_hook,
        # Where senders post: this site as the client reached it (https behind a TLS proxy).
        "site_url": f"{'https' if is_https(request) else request.url.scheme}://{request.url.netloc}",
    }
    response = render(request, "settings/payments.html", context, status_code=status_code)
    if callback_urls is not None or created_hook is not None:
        _no_store(response)
    return response


@router.get("/payments")
async def payments_settings(request: Request, db: DbDep, user: Admin) -> Response:
    return await _payments_page(request, db, user)


def _sources(text: str | None) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text or "") if part]


@router.post("/payments/mpesa")
async def save_mpesa(request: Request, db: DbDep, runtime: RuntimeDep, user: Admin) -> Response:
    form = await Form.read(request)
    data: dict[str, Any] = form.payload(
        ("shortcode", "api_url", "callback_base_url", *MPESA_SECRETS)
    )
    data["allowed_sources"] = _sources(form.text("allowed_sources"))
    # Typed secrets are never sent back to the page, whatever happens.
    for name in MPESA_SECRETS:
        form.values.pop(name, None)

    async def save(built: accounts.MpesaAccountWrite) -> accounts.MpesaAccountSaved:
        return await accounts.save_account(
            db, tenant_id=user.tenant_id, data=built, vault=runtime.vault
        )

    saved = await form.submit(accounts.MpesaAccountWrite, data, save)
    if saved is None:
        await db.rollback()
        return await _payments_page(request, db, user, form=form, status_code=422)
    changed = [name for name in MPESA_SECRETS if name in data]
    detail = "credentials changed: " + ", ".join(changed) if changed else None
    await audited(request, db, user, "mpesa.account", target=saved.account.shortcode, detail=detail)
    if saved.callback_urls is not None:
        return await _payments_page(request, db, user, callback_urls=saved.callback_urls)
    return redirect(request, PAYMENTS_URL, flash="M-Pesa account saved.")


@router.post("/payments/mpesa/rotate-callback")
async def rotate_callback(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Admin
) -> Response:
    try:
        saved = await accounts.rotate_token(db, tenant_id=user.tenant_id, vault=runtime.vault)
    except NotFound:
        return redirect(
            request, PAYMENTS_URL, flash="Set up the M-Pesa account first.", kind="error"
        )
    await audited(request, db, user, "mpesa.rotate_callback", target=saved.account.shortcode)
    return await _payments_page(request, db, user, callback_urls=saved.callback_urls)


@router.post("/payments/mpesa/register-urls")
async def register_urls(request: Request, db: DbDep, runtime: RuntimeDep, user: Admin) -> Response:
    try:
        await register_account_urls(db, tenant_id=user.tenant_id, vault=runtime.vault)
    except NotFound:
        return redirect(
            request, PAYMENTS_URL, flash="Set up the M-Pesa account first.", kind="error"
        )
    except DarajaError as exc:
        return redirect(
            request, PAYMENTS_URL, flash=f"Daraja did not register the URLs: {exc}", kind="error"
        )
    await audited(request, db, user, "mpesa.register_urls")
    return redirect(request, PAYMENTS_URL, flash="Callback URLs registered with Daraja.")


@router.post("/payments/webhooks")
async def create_webhook(request: Request, db: DbDep, runtime: RuntimeDep, user: Admin) -> Response:
    form = await Form.read(request)

    async def create(built: hooks.WebhookCreate) -> hooks.WebhookCreated:
        return await hooks.create(
            db, tenant_id=user.tenant_id, data=built, vault=runtime.vault, actor=user.email
        )

    created = await form.submit(hooks.WebhookCreate, form.payload(("provider",)), create)
    if created is None:
        if FORM_ERROR in form.errors:  # a Conflict: the name exists
            form.errors["provider"] = form.errors.pop(FORM_ERROR)
        return await _payments_page(request, db, user, hook_form=form, status_code=422)
    await audited(request, db, user, "webhook.create", target=created.provider)
    return await _payments_page(request, db, user, created_hook=created)


@router.post("/payments/webhooks/{webhook_id}/delete")
async def delete_webhook(request: Request, webhook_id: Id, db: DbDep, user: Admin) -> Response:
    found = next(
        (h for h in await hooks.list_hooks(db, user.tenant_id) if h.id == webhook_id), None
    )
    # The service refuses another tenant's webhook (404) as the API does.
    await hooks.delete(db, tenant_id=user.tenant_id, webhook_id=webhook_id)
    provider = found.provider if found is not None else str(webhook_id)
    await audited(request, db, user, "webhook.delete", target=provider)
    return redirect(request, PAYMENTS_URL, flash=f"Webhook {provider} deleted.")


# -- customer messages ------------------------------------------------------------------------


def _messages_form(shown: message_settings.MessageSettingsRead) -> Form:
    values = {
        "reminder_days": ", ".join(str(day) for day in shown.reminder_days),
        "smtp_port": str(shown.smtp_port),
        "sms_provider": shown.sms_provider,
    }
    for name in MESSAGE_TEXT_FIELDS:
        value = getattr(shown, name)
        if value is not None and name not in values:
            values[name] = str(value)
    for flag in ("email_enabled", "smtp_starttls", "sms_enabled"):
        if getattr(shown, flag):
            values[flag] = "on"
    for event in Event:
        values[f"template_{event.value}"] = shown.templates.get(event.value, "")
    return Form(values=values)


async def _messages_page(
    request: Request, db: DbDep, user: WebUser, form: Form | None = None, status_code: int = 200
) -> Response:
    shown = message_settings.read(await message_settings.load(db, user.tenant_id))
    context = {
        "section": "settings",
        "subsection": "messages",
        "shown": shown,
        "form": form or _messages_form(shown),
        "events": [(event.value, EVENT_LABELS[event], DEFAULTS[event]) for event in Event],
        "placeholders": PLACEHOLDERS,
        "sms_providers": SMS_PROVIDERS,
    }
    return render(request, "settings/messages.html", context, status_code=status_code)


@router.get("/messages")
async def messages_settings(request: Request, db: DbDep, user: Admin) -> Response:
    return await _messages_page(request, db, user)


def _days(form: Form) -> list[str]:
    text = form.text("reminder_days")
    return [part for part in re.split(r"[\s,]+", text) if part] if text else []


@router.post("/messages")
async def save_messages(request: Request, db: DbDep, runtime: RuntimeDep, user: Admin) -> Response:
    form = await Form.read(request)
    data: dict[str, Any] = form.payload(
        MESSAGE_TEXT_FIELDS, clearable=[n for n in MESSAGE_TEXT_FIELDS if n != "smtp_port"]
    )
    data["reminder_days"] = _days(form)
    data["templates"] = {
        event.value: (form.values.get(f"template_{event.value}") or "").strip() for event in Event
    }
    for flag in ("email_enabled", "smtp_starttls", "sms_enabled"):
        data[flag] = form.checked(flag)
    data["sms_provider"] = form.text("sms_provider") or "generic"
    for secret in MESSAGE_SECRETS:
        typed = form.values.pop(secret, "")  # never echoed back
        if form.checked(f"clear_{secret}"):
            data[secret] = ""  # the service stores "no secret" for an empty one
        elif typed:
            data[secret] = typed

    async def save(
        built: message_settings.MessageSettingsWrite,
    ) -> message_settings.MessageSettingsRead:
        return await message_settings.update(db, user.tenant_id, built, runtime.vault)

    saved = await form.submit(message_settings.MessageSettingsWrite, data, save)
    if saved is None:
        await db.rollback()
        return await _messages_page(request, db, user, form=form, status_code=422)
    await audited(request, db, user, "messages.settings")
    return redirect(request, MESSAGES_URL, flash="Message settings saved.")
