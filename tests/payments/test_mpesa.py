"""M-Pesa through the local Daraja simulator: C2B (duplicates, unknown accounts, phone
matching, bad input), STK push and its callback, the secret callback URL and allow-list,
credentials encrypted at rest."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mikrosync.logs import mask_secrets
from mikrosync.mpesa_sim import StkOutcome
from mikrosync.payments.models import MpesaAccount, StkRequest
from mikrosync.payments.mpesa.account import rotate_account_secrets
from mikrosync.runtime import Runtime
from mikrosync.security.vault import Vault
from mikrosync.subscribers.models import Subscriber, SuspendReason
from tests.helpers import unique
from tests.plugins.payments import MpesaSite

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


async def _expire(runtime: Runtime, subscriber_id: int) -> None:
    async with runtime.sessionmaker() as session:
        row = await session.get(Subscriber, subscriber_id)
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(hours=1)
        row.is_suspended, row.suspend_reason = True, SuspendReason.EXPIRED
        await session.commit()


async def test_credentials_are_encrypted_and_never_shown(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    shown = await mpesa.call("GET", "/mpesa/account")
    assert shown.status_code == 200
    text = shown.text
    for secret in ("sim-key", "sim-secret", "sim-passkey", mpesa.urls["confirmation"]):
        assert secret not in text
    async with runtime.sessionmaker() as session:
        stored = (
            await session.scalars(
                select(MpesaAccount).where(MpesaAccount.tenant_id == mpesa.owner.tenant_id)
            )
        ).one()
    columns = json.dumps({c.key: str(getattr(stored, c.key)) for c in stored.__mapper__.columns})
    assert "sim-secret" not in columns and "sim-passkey" not in columns
    token = mpesa.urls["confirmation"].split("/")[-2]
    assert token not in columns


async def test_c2b_paid_20_times_concurrently_is_one_payment_and_one_renewal(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    created = await mpesa.subscriber(username=unique("paybill"))
    await _expire(runtime, created["id"])
    registered = await mpesa.call("POST", "/mpesa/account/register-urls")
    assert registered.status_code == 204, registered.text
    sim = mpesa.running.sim
    assert sim.registered["600000"]["confirmation"] == mpesa.urls["confirmation"]

    body = sim.c2b(
        amount="30.00", account=created["username"].upper(), msisdn="254712000111", copies=20
    )
    await sim.idle()

    answers = [d for d in sim.deliveries if d.body == json.dumps(body)]
    assert len(answers) == 20
    assert all(d.status == 200 and json.loads(d.answer or "") == ACCEPTED for d in answers)
    page = await mpesa.payments(q=body["TransID"])
    assert page["total"] == 1
    payment = page["items"][0]
    assert payment["subscriber_id"] == created["id"] and payment["status"] == "applied"
    assert payment["payer_name"] == "Jane" and payment["account_reference"] == body["BillRefNumber"]
    wallet = (await mpesa.call("GET", f"/subscribers/{created['id']}/wallet")).json()
    assert [e["kind"] for e in wallet["entries"]] == ["debit", "credit"]
    assert wallet["balance"] == "0.00"
    row = (await mpesa.call("GET", f"/subscribers/{created['id']}")).json()
    assert row["is_suspended"] is False and row["sync_status"] == "pending"


async def test_unknown_account_is_an_unmatched_payment_answered_accepted(
    mpesa: MpesaSite,
) -> None:
    sim = mpesa.running.sim
    body = sim.c2b(
        amount="100", account="no-such-user", msisdn="254799999999", url=mpesa.urls["confirmation"]
    )
    await sim.idle()
    assert json.loads(sim.deliveries[-1].answer or "") == ACCEPTED
    page = await mpesa.payments(matched="false")
    assert [p["provider_reference"] for p in page["items"]] == [body["TransID"]]
    assert page["items"][0]["status"] == "unmatched"


async def test_matched_by_phone_when_the_account_is_unknown(mpesa: MpesaSite) -> None:
    created = await mpesa.subscriber(phone="0712 345 999")
    sim = mpesa.running.sim
    sim.c2b(amount="5", account="typo", msisdn="254712345999", url=mpesa.urls["confirmation"])
    await sim.idle()
    page = await mpesa.payments(subscriber_id=created["id"])
    assert page["total"] == 1


async def test_bad_callbacks_are_refused_in_darajas_shape(
    mpesa: MpesaSite, caplog: pytest.LogCaptureFixture
) -> None:
    sim = mpesa.running.sim
    url = mpesa.urls["confirmation"]
    caplog.set_level(logging.WARNING)
    sim.send_later(url, '{"TransID": "ABC", "TransAmount": ')
    for amount in ("0", "-10", "10.005"):
        sim.send_later(
            url,
            json.dumps(
                sim.c2b_body(amount=amount, account="x", msisdn="254700000001", trans_id="BADAMT1")
            ),
        )
    await sim.idle()
    answers = sim.deliveries[-4:]
    assert all(d.status == 400 for d in answers), [(d.status, d.answer) for d in answers]
    assert all(json.loads(d.answer or "")["ResultCode"] == 1 for d in answers)
    assert (await mpesa.payments(q="BADAMT1"))["total"] == 0
    assert "malformed JSON" in caplog.text
    assert "the amount must be greater than zero" in caplog.text
    assert "more than two decimals" in caplog.text

    # Validation rejects a bad amount with Daraja's code.
    sim.send_later(
        mpesa.urls["validation"],
        json.dumps(sim.c2b_body(amount="0", account="x", msisdn="254700000001")),
    )
    await sim.idle()
    assert json.loads(sim.deliveries[-1].answer or "")["ResultCode"] == "C2B00013"


async def test_unknown_callback_url_and_foreign_source_get_403(
    mpesa: MpesaSite, caplog: pytest.LogCaptureFixture
) -> None:
    sim = mpesa.running.sim
    caplog.set_level(logging.WARNING)
    wrong = mpesa.urls["confirmation"].replace(mpesa.urls["confirmation"].split("/")[-2], "guess")
    sim.c2b(amount="10", account="x", msisdn="254700000002", url=wrong)
    await sim.idle()
    assert sim.deliveries[-1].status == 403
    assert "unknown callback URL" in caplog.text

    account = (await mpesa.call("GET", "/mpesa/account")).json()
    update = {k: account[k] for k in ("shortcode", "api_url", "callback_base_url")}
    saved = await mpesa.call(
        "PUT", "/mpesa/account", json=update | {"allowed_sources": ["196.201.214.0/24"]}
    )
    assert saved.status_code == 200, saved.text
    body = sim.c2b(amount="10", account="x", msisdn="254700000002", url=mpesa.urls["confirmation"])
    await sim.idle()
    assert sim.deliveries[-1].status == 403
    assert (await mpesa.payments(q=body["TransID"]))["total"] == 0
    assert "outside its allow-list" in caplog.text
    # The token never reaches a log line.
    assert mpesa.urls["confirmation"].split("/")[-2] not in caplog.text


async def test_stk_push_success_with_duplicate_callbacks(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    created = await mpesa.subscriber(phone="0712000222")
    await _expire(runtime, created["id"])
    sim = mpesa.running.sim
    sim.stk_outcomes.append(StkOutcome(copies=3, delay_s=0.1))
    started = await mpesa.call(
        "POST", "/payments/stk-push", json={"subscriber_id": created["id"], "amount": 30}
    )
    assert started.status_code == 202, started.text
    assert started.json()["phone"] == "254712000222"
    await sim.idle()
    page = await mpesa.payments(subscriber_id=created["id"])
    assert page["total"] == 1 and page["items"][0]["amount"] == "30.00"
    async with runtime.sessionmaker() as session:
        request = await session.get(StkRequest, started.json()["id"])
        assert request is not None and request.status == "succeeded"
        assert request.payment_id == page["items"][0]["id"]
    row = (await mpesa.call("GET", f"/subscribers/{created['id']}")).json()
    assert row["is_suspended"] is False


async def test_stk_push_cancelled_by_the_user_records_no_payment(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    created = await mpesa.subscriber(phone="0712000333")
    sim = mpesa.running.sim
    sim.stk_outcomes.append(StkOutcome(result_code=1032, result_desc="Request cancelled by user"))
    started = await mpesa.call(
        "POST", "/payments/stk-push", json={"subscriber_id": created["id"], "amount": "30"}
    )
    assert started.status_code == 202, started.text
    await sim.idle()
    async with runtime.sessionmaker() as session:
        request = await session.get(StkRequest, started.json()["id"])
        assert request is not None and request.status == "failed" and request.result_code == 1032
    assert (await mpesa.payments(subscriber_id=created["id"]))["total"] == 0
    over_precise = await mpesa.call(
        "POST", "/payments/stk-push", json={"subscriber_id": created["id"], "amount": "30.5"}
    )
    assert over_precise.status_code == 422


async def test_rotate_secrets_re_encrypts_mpesa_credentials(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    new_key = "rotated-mpesa-key-" + "q" * 40
    rotated = Vault(new_key, [runtime.secret_key])
    assert await rotate_account_secrets(runtime.sessionmaker, rotated) >= 1
    async with runtime.sessionmaker() as session:
        stored = (
            await session.scalars(
                select(MpesaAccount).where(MpesaAccount.tenant_id == mpesa.owner.tenant_id)
            )
        ).one()
        assert Vault(new_key).decrypt(stored.consumer_secret_encrypted) == "sim-secret"
    # Put the session's key back for the tests that follow.
    await rotate_account_secrets(runtime.sessionmaker, Vault(runtime.secret_key, [new_key]))


def test_the_callback_token_is_masked_in_log_lines() -> None:
    line = '127.0.0.1:5 - "POST /api/v1/callbacks/daraja/Abc-123_xyz/confirmation HTTP/1.1" 200'
    masked = mask_secrets(line)
    assert "Abc-123_xyz" not in masked and "/callbacks/daraja/***/confirmation" in masked


def _stk_body(checkout: str, code: int, receipt: str | None = None, phone: int = 0) -> str:
    callback: dict[str, object] = {
        "MerchantRequestID": "1-2-3",
        "CheckoutRequestID": checkout,
        "ResultCode": code,
        "ResultDesc": "ok" if code == 0 else "Request cancelled by user",
    }
    if receipt:
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": 30},
                {"Name": "MpesaReceiptNumber", "Value": receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": 20261203101500},
                {"Name": "PhoneNumber", "Value": phone},
            ]
        }
    return json.dumps({"Body": {"stkCallback": callback}})


async def test_stk_callback_before_the_push_answer_and_late_failure(
    mpesa: MpesaSite, runtime: Runtime
) -> None:
    created = await mpesa.subscriber(phone="0712000444")
    await _expire(runtime, created["id"])
    sim = mpesa.running.sim
    # The success reaches us before Daraja's answer to the push, from a phone that is not
    # the subscriber's: unmatched at first, then applied when the push adopts its request.
    sim.stk_outcomes.append(StkOutcome(before_answer=True))
    started = await mpesa.call(
        "POST",
        "/payments/stk-push",
        json={"subscriber_id": created["id"], "amount": 30, "phone": "0799000111"},
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "succeeded"
    checkout = started.json()["checkout_request_id"]
    # A late failure for the same push (out of order) changes nothing.
    sim.send_later(mpesa.urls["stk"], _stk_body(checkout, 1032))
    # A success for a push we never made (another till): matched by phone.
    receipt = unique("SX").upper().replace("-", "")[:10]
    sim.send_later(mpesa.urls["stk"], _stk_body("ws_CO_unknown", 0, receipt, 254712000444))
    # A malformed one: Body without stkCallback.
    sim.send_later(mpesa.urls["stk"], json.dumps({"Body": {}}))
    await sim.idle()
    assert [d.status for d in sim.deliveries[-3:]] == [200, 200, 400]
    async with runtime.sessionmaker() as session:
        request = await session.get(StkRequest, started.json()["id"])
        assert request is not None and request.status == "succeeded"
    page = await mpesa.payments(subscriber_id=created["id"])
    assert page["total"] == 2 and {p["status"] for p in page["items"]} == {"applied"}
    assert receipt in {p["provider_reference"] for p in page["items"]}
    row = (await mpesa.call("GET", f"/subscribers/{created['id']}")).json()
    assert row["is_suspended"] is False
