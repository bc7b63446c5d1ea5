"""The admin pages for payment providers and customer messages (issue 15) over ASGI, on both
databases: the M-Pesa account (credentials write-only, callback URLs shown once, rotation),
generic webhooks (secret shown once, usable, deleted), message settings (templates, channels,
write-only secrets), and who may see them. Each test has a tenant of its own: a Daraja account
is one per tenant."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx
import pytest

from mikrosync.payments import webhook as hooks
from mikrosync.payments.mpesa import account as accounts
from mikrosync.runtime import Runtime
from mikrosync.tenants.models import Role
from tests.helpers import unique
from tests.plugins.core import Staff, TenantFactory
from tests.plugins.web import WebClient, WebLogin

SECRETS = {
    "consumer_key": "ck-" + "K" * 20,
    "consumer_secret": "cs-" + "S" * 20,
    "passkey": "pk-" + "P" * 20,
}
ACCOUNT = {
    "shortcode": "600777",
    "api_url": "http://127.0.0.1:9",
    "callback_base_url": "https://billing.example.test",
    "allowed_sources": "196.201.214.0/24\n196.201.213.44",
}


@dataclass
class Tenant:
    admin: WebClient
    operator: WebClient
    viewer: WebClient
    owner_api: Staff
    api: httpx.AsyncClient


@pytest.fixture
async def tenant(factory: TenantFactory, web_login: WebLogin, client: httpx.AsyncClient) -> Tenant:
    tenant_id = await factory.tenant()
    return Tenant(
        admin=await web_login(await factory.staff(tenant_id, Role.ADMIN)),
        operator=await web_login(await factory.staff(tenant_id, Role.OPERATOR)),
        viewer=await web_login(await factory.staff(tenant_id, Role.VIEWER)),
        owner_api=await factory.staff(tenant_id, Role.OWNER),
        api=client,
    )


def _no_secret_in(html: str, *more: str) -> None:
    for secret in (*SECRETS.values(), *more):
        assert secret not in html, secret


async def _set_up(t: Tenant) -> httpx.Response:
    page = await t.admin.post("/settings/payments/mpesa", ACCOUNT | SECRETS)
    assert page.status_code == 200, page.text
    return page


def _token(page: str) -> str:
    start = page.index(accounts.CALLBACK_PREFIX + "/") + len(accounts.CALLBACK_PREFIX) + 1
    return page[start:].split("/", 1)[0]


async def test_admin_sets_up_mpesa_and_sees_the_callback_urls_once(
    tenant: Tenant, runtime: Runtime
) -> None:
    t = tenant
    empty = await t.admin.get("/settings/payments")
    assert empty.status_code == 200 and "Not set up" in empty.text

    page = await _set_up(t)
    assert page.headers["cache-control"] == "no-store"
    assert 'id="callback-urls"' in page.text
    token = _token(page.text)
    base = f"{ACCOUNT['callback_base_url']}{accounts.CALLBACK_PREFIX}/{token}"
    for kind in ("validation", "confirmation", "stk"):
        assert f'value="{base}/{kind}"' in page.text
    _no_secret_in(page.text)

    # The same account as the API's, credentials encrypted and kept as typed.
    shown = (await t.api.get("/api/v1/mpesa/account", headers=t.owner_api.headers)).json()
    assert shown["shortcode"] == "600777" and shown["has_passkey"] is True
    assert shown["allowed_sources"] == ["196.201.214.0/24", "196.201.213.44/32"]
    async with runtime.sessionmaker() as session:
        stored = await accounts.get_account(session, t.owner_api.tenant_id or 0)
        creds = accounts.credentials(stored, runtime.vault)
    assert (creds.consumer_key, creds.consumer_secret, creds.passkey) == tuple(SECRETS.values())
    assert creds.callback_token == token

    later = await t.admin.get("/settings/payments")
    assert token not in later.text and 'id="callback-urls"' not in later.text
    _no_secret_in(later.text)
    assert 'id="mpesa-passkey"><span class="state-set">set</span>' in later.text

    # A later save without credentials keeps them; a new shortcode is taken.
    saved = await t.admin.post("/settings/payments/mpesa", ACCOUNT | {"shortcode": "600778"})
    assert saved.status_code == 303, saved.text
    async with runtime.sessionmaker() as session:
        stored = await accounts.get_account(session, t.owner_api.tenant_id or 0)
        again = accounts.credentials(stored, runtime.vault)
    assert stored.shortcode == "600778" and again.consumer_secret == SECRETS["consumer_secret"]
    assert again.callback_token == token


async def test_refused_form_says_why_and_never_echoes_a_secret(tenant: Tenant) -> None:
    t = tenant
    bad = await t.admin.post(
        "/settings/payments/mpesa", ACCOUNT | SECRETS | {"shortcode": "12ab", "api_url": "ftp:x"}
    )
    assert bad.status_code == 422
    assert 'id="err-shortcode"' in bad.text and 'id="err-api_url"' in bad.text
    _no_secret_in(bad.text)
    missing = await t.admin.post("/settings/payments/mpesa", ACCOUNT)
    assert missing.status_code == 422 and "consumer_key is required" in missing.text
    assert "Not set up" in (await t.admin.get("/settings/payments")).text


async def test_rotation_makes_new_urls_and_the_old_ones_are_refused(tenant: Tenant) -> None:
    t = tenant
    old = _token((await _set_up(t)).text)
    rotated = await t.admin.post("/settings/payments/mpesa/rotate-callback")
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = _token(rotated.text)
    assert new != old
    callback = f"{accounts.CALLBACK_PREFIX}/{{}}/validation"
    body = {"TransID": unique("T"), "TransAmount": "10", "MSISDN": "254700000001"}
    refused = await t.api.post(callback.format(old), json=body)
    assert refused.status_code == 403
    # The allow-list is in force: the test client (127.0.0.1) is outside it.
    outside = await t.api.post(callback.format(new), json=body)
    assert outside.status_code == 403 and "source not allowed" in outside.text


async def test_register_urls_reports_daraja_unreachable(tenant: Tenant) -> None:
    t = tenant
    nothing = await t.admin.post("/settings/payments/mpesa/register-urls")
    assert nothing.status_code == 303
    assert "Set up the M-Pesa account first" in (await t.admin.get("/settings/payments")).text
    await _set_up(t)
    answer = await t.admin.post("/settings/payments/mpesa/register-urls")
    assert answer.status_code == 303
    page = (await t.admin.get("/settings/payments")).text
    assert "Daraja did not register the URLs" in page
    _no_secret_in(page)


async def test_webhook_secret_is_shown_once_works_and_delete_removes_it(tenant: Tenant) -> None:
    t = tenant
    name = unique("bank")[:30].lower()
    created = await t.admin.post("/settings/payments/webhooks", {"provider": name})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = created.text.split('id="hook-secret" type="text" readonly value="', 1)[1].split('"')[0]
    assert len(secret) >= 40
    [listed] = (await t.api.get("/api/v1/payment-webhooks", headers=t.owner_api.headers)).json()
    assert listed["provider"] == name
    path = f"/api/v1/callbacks/webhook/{listed['id']}"
    assert f'id="hook-path" type="text" readonly value="http://test{path}"' in created.text

    # The secret is the one the sender signs with: a payment it signs is recorded.
    raw = json.dumps({"reference": unique("REF"), "amount": "15.00", "account": "nobody"}).encode()
    stamp = str(int(time.time()))
    posted = await t.api.post(
        f"/api/v1/callbacks/webhook/{listed['id']}",
        content=raw,
        headers={
            hooks.TIMESTAMP_HEADER: stamp,
            hooks.SIGNATURE_HEADER: hooks.signature(secret, stamp, raw),
            "Content-Type": "application/json",
        },
    )
    assert posted.status_code == 200 and posted.json()["detail"] == "recorded", posted.text

    page = await t.admin.get("/settings/payments")
    assert secret not in page.text and f'id="webhook-{listed["id"]}"' in page.text
    twice = await t.admin.post("/settings/payments/webhooks", {"provider": name})
    assert twice.status_code == 422 and "exists" in twice.text
    reserved = await t.admin.post("/settings/payments/webhooks", {"provider": "mpesa"})
    assert reserved.status_code == 422 and "reserved" in reserved.text

    deleted = await t.admin.post(f"/settings/payments/webhooks/{listed['id']}/delete")
    assert deleted.status_code == 303
    assert (await t.api.get("/api/v1/payment-webhooks", headers=t.owner_api.headers)).json() == []
    assert "No webhooks." in (await t.admin.get("/settings/payments")).text


async def test_message_settings_round_trip_with_write_only_secrets(tenant: Tenant) -> None:
    t = tenant
    page = await t.admin.get("/settings/messages")
    assert page.status_code == 200 and "{expiry}" in page.text
    form = {
        "reminder_days": "1, 3 7",
        "template_expiring": "Hi {name}, pay {price} before {expiry}.",
        "template_expired": "",
        "email_enabled": "on",
        "smtp_host": "127.0.0.1",
        "smtp_port": "2525",
        "smtp_from": "billing@isp.test",
        "smtp_password": "smtp-" + "X" * 16,
        "sms_enabled": "on",
        "sms_provider": "africastalking",
        "sms_url": "https://sms.example.test/send",
        "sms_username": "isp",
        "sms_api_key": "sms-" + "Y" * 16,
        "sms_sender": "ISP",
    }
    saved = await t.admin.post("/settings/messages", form)
    assert saved.status_code == 303, saved.text
    api = (await t.api.get("/api/v1/message-settings", headers=t.owner_api.headers)).json()
    assert api["reminder_days"] == [7, 3, 1]
    assert api["templates"]["expiring"] == "Hi {name}, pay {price} before {expiry}."
    assert api["email_enabled"] and not api["smtp_starttls"] and api["smtp_port"] == 2525
    assert api["smtp_password_set"] and api["sms_api_key_set"]
    assert api["sms_provider"] == "africastalking" and api["sms_sender"] == "ISP"
    shown = (await t.admin.get("/settings/messages")).text
    assert form["smtp_password"] not in shown and form["sms_api_key"] not in shown
    assert 'id="smtp-password-state">SMTP password: <span class="state-set">set' in shown
    assert "Hi {name}, pay {price} before {expiry}." in shown

    # Saved again without typing the secrets: kept. Clearing one removes it; emptying a
    # field empties it.
    kept = form | {"smtp_password": "", "sms_api_key": "", "clear_sms_api_key": "on"}
    kept |= {"sms_sender": ""}
    assert (await t.admin.post("/settings/messages", kept)).status_code == 303
    api = (await t.api.get("/api/v1/message-settings", headers=t.owner_api.headers)).json()
    assert api["smtp_password_set"] and not api["sms_api_key_set"]
    assert api["sms_sender"] is None

    bad = await t.admin.post("/settings/messages", form | {"reminder_days": "0, 90"})
    assert bad.status_code == 422 and "reminder days are between 1 and 60" in bad.text
    assert form["smtp_password"] not in bad.text


async def test_operators_and_viewers_neither_see_nor_change_provider_settings(
    tenant: Tenant,
) -> None:
    t = tenant
    await _set_up(t)
    admin_home = (await t.admin.get("/")).text
    assert 'href="/settings/payments"' in admin_home
    for who in (t.operator, t.viewer):
        home = (await who.get("/")).text
        assert "/settings" not in home
        for path in ("/settings/payments", "/settings/messages"):
            page = await who.get(path)
            assert page.status_code == 403
            _no_secret_in(page.text)
        for path in (
            "/settings/payments/mpesa",
            "/settings/payments/mpesa/rotate-callback",
            "/settings/payments/webhooks",
            "/settings/messages",
        ):
            refused = await who.post(path, ACCOUNT | {"provider": "sneaky", "smtp_host": "x"})
            assert refused.status_code == 403, (path, refused.status_code)
    shown = (await t.api.get("/api/v1/mpesa/account", headers=t.owner_api.headers)).json()
    assert shown["shortcode"] == ACCOUNT["shortcode"]
    assert (await t.api.get("/api/v1/payment-webhooks", headers=t.owner_api.headers)).json() == []
