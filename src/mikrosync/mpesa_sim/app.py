"""The simulator's state and its Starlette app (Daraja's paths, plus /sim/* controls)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)

EAT = timezone(timedelta(hours=3))


@dataclass
class SimConfig:
    shortcode: str = "600000"
    consumer_key: str = "sim-key"
    consumer_secret: str = "sim-secret"
    passkey: str = "sim-passkey"
    # Seconds between an accepted STK push and its callback.
    stk_delay_s: float = 1.0


@dataclass
class StkOutcome:
    """What the next STK push(es) do: ResultCode 0 pays; 1032 (cancelled by the user), 1037
    (phone unreachable), 1 (insufficient funds)... fail. `copies` > 1 sends duplicates."""

    result_code: int = 0
    result_desc: str = "The service request is processed successfully."
    delay_s: float | None = None
    copies: int = 1
    # Deliver the callback(s) before answering the push itself (out of order: the callback
    # reaches the server before the push's own answer does).
    before_answer: bool = False


@dataclass
class Delivery:
    url: str
    body: str
    status: int | None = None
    answer: str | None = None
    error: str | None = None


def _receipt() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "S" + "".join(random.choices(alphabet, k=9))


def _stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(EAT).strftime("%Y%m%d%H%M%S")


@dataclass
class MpesaSim:
    config: SimConfig = field(default_factory=SimConfig)
    # Callbacks go out through this client; tests may give one bound to an in-process app.
    transport: httpx.AsyncBaseTransport | None = None
    tokens: set[str] = field(default_factory=set)
    registered: dict[str, dict[str, str]] = field(default_factory=dict)
    stk_outcomes: list[StkOutcome] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- Daraja's API -------------------------------------------------------------------

    async def oauth(self, request: Request) -> JSONResponse:
        expected = base64.b64encode(
            f"{self.config.consumer_key}:{self.config.consumer_secret}".encode()
        ).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse(
                {"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"},
                status_code=400,
            )
        token = secrets.token_urlsafe(20)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": "3599"})

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    @staticmethod
    def _refused(code: str, message: str, status: int = 400) -> JSONResponse:
        return JSONResponse(
            {"requestId": secrets.token_hex(6), "errorCode": code, "errorMessage": message},
            status_code=status,
        )

    async def _json(self, request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def stk_push(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._refused("404.001.03", "Invalid Access Token", 401)
        body = await self._json(request)
        if body is None:
            return self._refused("400.002.02", "Bad Request - Invalid JSON")
        stamp = str(body.get("Timestamp", ""))
        password = base64.b64encode(
            f"{self.config.shortcode}{self.config.passkey}{stamp}".encode()
        ).decode()
        if str(body.get("BusinessShortCode")) != self.config.shortcode:
            return self._refused("400.002.02", "Bad Request - Invalid BusinessShortCode")
        if body.get("Password") != password:
            return self._refused("500.001.1001", "Wrong credentials", 500)
        amount = body.get("Amount")
        if not isinstance(amount, int) or amount < 1:
            return self._refused("400.002.02", "Bad Request - Invalid Amount")
        checkout = f"ws_CO_{_stamp()}{secrets.token_hex(5)}"
        merchant = f"{random.randint(10000, 99999)}-{random.randint(10**6, 10**7)}-1"
        outcome = self.stk_outcomes.pop(0) if self.stk_outcomes else StkOutcome()
        callback = self._stk_callback(checkout, merchant, outcome, amount, body)
        delay = self.config.stk_delay_s if outcome.delay_s is None else outcome.delay_s
        url = str(body.get("CallBackURL", ""))
        for _ in range(outcome.copies):
            if outcome.before_answer:
                await self._deliver(url, json.dumps(callback), 0.0)
            else:
                self.send_later(url, json.dumps(callback), delay)
        return JSONResponse(
            {
                "MerchantRequestID": merchant,
                "CheckoutRequestID": checkout,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
        )

    @staticmethod
    def _stk_callback(
        checkout: str, merchant: str, outcome: StkOutcome, amount: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "MerchantRequestID": merchant,
            "CheckoutRequestID": checkout,
            "ResultCode": outcome.result_code,
            "ResultDesc": outcome.result_desc,
        }
        if outcome.result_code == 0:
            result["CallbackMetadata"] = {
                "Item": [
                    {"Name": "Amount", "Value": amount},
                    {"Name": "MpesaReceiptNumber", "Value": _receipt()},
                    {"Name": "Balance"},
                    {"Name": "TransactionDate", "Value": int(_stamp())},
                    {"Name": "PhoneNumber", "Value": int(str(body.get("PhoneNumber") or 0))},
                ]
            }
        return {"Body": {"stkCallback": result}}

    async def register_url(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._refused("404.001.03", "Invalid Access Token", 401)
        body = await self._json(request)
        if body is None or not body.get("ConfirmationURL"):
            return self._refused("400.002.02", "Bad Request - Invalid ConfirmationURL")
        self.registered[str(body.get("ShortCode"))] = {
            "confirmation": str(body["ConfirmationURL"]),
            "validation": str(body.get("ValidationURL") or ""),
        }
        return JSONResponse(
            {
                "OriginatorCoversationID": secrets.token_hex(8),
                "ResponseCode": "0",
                "ResponseDescription": "Success",
            }
        )

    async def c2b_simulate(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._refused("404.001.03", "Invalid Access Token", 401)
        body = await self._json(request)
        if body is None:
            return self._refused("400.002.02", "Bad Request - Invalid JSON")
        shortcode = str(body.get("ShortCode"))
        if shortcode not in self.registered:
            return self._refused("400.002.02", "Bad Request - no URLs registered for ShortCode")
        self.c2b(
            amount=str(body.get("Amount")),
            account=str(body.get("BillRefNumber") or ""),
            msisdn=str(body.get("Msisdn") or ""),
            shortcode=shortcode,
        )
        return JSONResponse(
            {
                "OriginatorCoversationID": secrets.token_hex(8),
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    # -- controls (tests, demo, /sim/*) ----------------------------------------------------

    def c2b_body(
        self,
        *,
        amount: str,
        account: str,
        msisdn: str,
        trans_id: str | None = None,
        shortcode: str | None = None,
        first_name: str = "Jane",
    ) -> dict[str, Any]:
        return {
            "TransactionType": "Pay Bill",
            "TransID": trans_id or _receipt(),
            "TransTime": _stamp(),
            "TransAmount": amount,
            "BusinessShortCode": shortcode or self.config.shortcode,
            "BillRefNumber": account,
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": msisdn,
            "FirstName": first_name,
            "MiddleName": "",
            "LastName": "",
        }

    def c2b(
        self,
        *,
        amount: str,
        account: str,
        msisdn: str,
        trans_id: str | None = None,
        shortcode: str | None = None,
        copies: int = 1,
        delay_s: float = 0.0,
        url: str | None = None,
    ) -> dict[str, Any]:
        """A paybill payment: its confirmation is sent `copies` times (duplicates, as Daraja
        does when an answer is lost) to the registered URL, or `url`. Returns the body."""
        shortcode = shortcode or self.config.shortcode
        body = self.c2b_body(
            amount=amount, account=account, msisdn=msisdn, trans_id=trans_id, shortcode=shortcode
        )
        target = url or self.registered.get(shortcode, {}).get("confirmation")
        if not target:
            raise ValueError(f"no confirmation URL registered for shortcode {shortcode}")
        for _ in range(copies):
            self.send_later(target, json.dumps(body), delay_s)
        return body

    def send_later(self, url: str, body: str, delay_s: float = 0.0) -> None:
        """POST `body` (any text: malformed on purpose is fine) to `url` after `delay_s`."""
        task = asyncio.get_running_loop().create_task(self._deliver(url, body, delay_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: str, delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        delivery = Delivery(url=url, body=body)
        self.deliveries.append(delivery)
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=30) as http:
                response = await http.post(
                    url, content=body, headers={"Content-Type": "application/json"}
                )
            delivery.status, delivery.answer = response.status_code, response.text
        except asyncio.CancelledError:
            delivery.error = "cancelled before an answer"
            raise
        except Exception as exc:  # any failure (an in-process app's own too) is the outcome
            delivery.error = f"{type(exc).__name__}: {exc}"
            log.warning("callback to %s failed: %s", url, delivery.error)

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every scheduled callback was delivered (or failed)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _control_c2b(self, request: Request) -> JSONResponse:
        body = await self._json(request) or {}
        try:
            sent = self.c2b(
                amount=str(body["amount"]),
                account=str(body.get("account", "")),
                msisdn=str(body.get("msisdn", "254700000000")),
                trans_id=body.get("trans_id"),
                copies=int(body.get("copies", 1)),
                delay_s=float(body.get("delay_s", 0)),
                url=body.get("url"),
            )
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(sent)

    async def _control_stk(self, request: Request) -> JSONResponse:
        body = await self._json(request) or {}
        self.stk_outcomes.append(
            StkOutcome(
                result_code=int(body.get("result_code", 0)),
                result_desc=str(body.get("result_desc", "Request cancelled by user")),
                delay_s=body.get("delay_s"),
                copies=int(body.get("copies", 1)),
            )
        )
        return JSONResponse({"queued": len(self.stk_outcomes)})

    async def _control_deliveries(self, _request: Request) -> JSONResponse:
        return JSONResponse([d.__dict__ for d in self.deliveries])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/v1/generate", self.oauth, methods=["GET"]),
                Route("/mpesa/stkpush/v1/processrequest", self.stk_push, methods=["POST"]),
                Route("/mpesa/c2b/v1/registerurl", self.register_url, methods=["POST"]),
                Route("/mpesa/c2b/v2/registerurl", self.register_url, methods=["POST"]),
                Route("/mpesa/c2b/v1/simulate", self.c2b_simulate, methods=["POST"]),
                Route("/sim/c2b", self._control_c2b, methods=["POST"]),
                Route("/sim/stk-outcome", self._control_stk, methods=["POST"]),
                Route("/sim/deliveries", self._control_deliveries, methods=["GET"]),
            ]
        )
