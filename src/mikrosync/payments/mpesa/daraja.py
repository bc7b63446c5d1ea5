"""Daraja's message shapes, read into plain values. No I/O here.

C2B (paybill/till) validation and confirmation callbacks carry flat JSON: `TransactionType`,
`TransID`, `TransTime` (YYYYMMDDHHmmss, Kenyan time), `TransAmount` (a string), `BusinessShortCode`,
`BillRefNumber` (the account the payer typed), `InvoiceNumber`, `OrgAccountBalance`,
`ThirdPartyTransID`, `MSISDN` (masked by C2B v2), `FirstName`, `MiddleName`, `LastName`.

The STK push callback is `{"Body": {"stkCallback": {MerchantRequestID, CheckoutRequestID,
ResultCode, ResultDesc, CallbackMetadata: {"Item": [{"Name": ..., "Value": ...}]}}}}`; the
items of a success are `Amount`, `MpesaReceiptNumber`, `TransactionDate`, `PhoneNumber`
(and sometimes `Balance` without a value). A failure (1032: cancelled by the user, 1037: no
answer from the phone, 1: insufficient balance, ...) has no CallbackMetadata.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from mikrosync.errors import InvalidInput
from mikrosync.payments.money import parse_amount

# Kenya keeps East Africa Time all year (no daylight saving): Daraja's times are in it.
EAT = timezone(timedelta(hours=3), "EAT")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}

# Validation rejection codes Daraja defines for C2B.
REJECT_INVALID_ACCOUNT = "C2B00012"
REJECT_INVALID_AMOUNT = "C2B00013"
REJECT_INVALID_SHORTCODE = "C2B00015"
REJECT_OTHER = "C2B00016"


def rejected(code: str | int, reason: str) -> dict[str, Any]:
    return {"ResultCode": code, "ResultDesc": f"Rejected: {reason}"[:200]}


def daraja_time(value: object) -> datetime | None:
    """`20191122063845` (EAT) as an aware datetime; None when absent or unreadable."""
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{14}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=EAT)
    except ValueError:
        return None


def timestamp(moment: datetime) -> str:
    """Daraja's request timestamp: YYYYMMDDHHmmss in Kenyan time."""
    return moment.astimezone(EAT).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, stamp: str) -> str:
    """The STK push `Password`: base64(shortcode + passkey + timestamp)."""
    return base64.b64encode(f"{shortcode}{passkey}{stamp}".encode()).decode("ascii")


def normalize_msisdn(value: object) -> str | None:
    """A Kenyan phone number as 2547XXXXXXXX / 2541XXXXXXXX; None for masked or foreign text.

    Accepts 07.., 01.., +254.., 254.. with spaces or dashes; C2B v2 masks MSISDNs
    ("2547 ***** 126"), which can never be matched and give None.
    """
    digits = re.sub(r"[\s\-()]", "", str(value or ""))
    digits = digits.removeprefix("+")
    if not digits.isdigit():
        return None
    if len(digits) == 10 and digits.startswith("0"):
        return "254" + digits[1:]
    if len(digits) == 9 and digits[0] in "71":
        return "254" + digits
    if len(digits) == 12 and digits.startswith("254"):
        return digits
    return None


def _text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    amount: Decimal
    shortcode: str | None
    account: str | None
    msisdn: str | None
    payer_name: str | None
    received_at: datetime | None


def read_c2b(body: dict[str, Any]) -> C2BPayment:
    """The payment a C2B validation/confirmation callback describes; InvalidInput names the
    first field that is wrong (the amount included: zero, negative, over-precise)."""
    trans_id = _text(body, "TransID", 64)
    if trans_id is None:
        raise InvalidInput("TransID", "TransID is missing")
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", trans_id):
        raise InvalidInput("TransID", "TransID has unexpected characters")
    amount = parse_amount(body.get("TransAmount"), field="TransAmount")
    names = [_text(body, key, 60) for key in ("FirstName", "MiddleName", "LastName")]
    return C2BPayment(
        trans_id=trans_id,
        amount=amount,
        shortcode=_text(body, "BusinessShortCode", 16),
        account=_text(body, "BillRefNumber", 100),
        msisdn=_text(body, "MSISDN", 50),
        payer_name=" ".join(n for n in names if n) or None,
        received_at=daraja_time(body.get("TransTime")),
    )


@dataclass(frozen=True)
class StkResult:
    checkout_request_id: str
    result_code: int
    result_desc: str
    # Set on success only.
    amount: Decimal | None = None
    receipt: str | None = None
    phone: str | None = None
    paid_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


def read_stk_callback(body: dict[str, Any]) -> StkResult:
    """The outcome an STK callback reports; InvalidInput when its shape is wrong."""
    callback = (
        body.get("Body", {}).get("stkCallback") if isinstance(body.get("Body"), dict) else None
    )
    if not isinstance(callback, dict):
        raise InvalidInput("Body.stkCallback", "Body.stkCallback is missing")
    checkout = _text(callback, "CheckoutRequestID", 64)
    if checkout is None:
        raise InvalidInput("CheckoutRequestID", "CheckoutRequestID is missing")
    code = callback.get("ResultCode")
    try:
        result_code = int(str(code))
    except ValueError:
        raise InvalidInput("ResultCode", "ResultCode is not a number") from None
    desc = _text(callback, "ResultDesc", 500) or ""
    if result_code != 0:
        return StkResult(checkout, result_code, desc)
    items = (callback.get("CallbackMetadata") or {}).get("Item")
    if not isinstance(items, list):
        raise InvalidInput("CallbackMetadata", "a successful callback has no CallbackMetadata")
    values = {str(item.get("Name")): item.get("Value") for item in items if isinstance(item, dict)}
    receipt = _text(values, "MpesaReceiptNumber", 64)
    if receipt is None:
        raise InvalidInput("MpesaReceiptNumber", "MpesaReceiptNumber is missing")
    return StkResult(
        checkout,
        result_code,
        desc,
        amount=parse_amount(values.get("Amount"), field="Amount"),
        receipt=receipt,
        phone=normalize_msisdn(values.get("PhoneNumber")),
        paid_at=daraja_time(values.get("TransactionDate")),
    )
