"""Outgoing Daraja calls: OAuth token, STK push, C2B URL registration.

One short-lived httpx client per operation; the credentials are passed in decrypted and go
only into the request (Basic auth for the token, the STK `Password`), never into a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import MikrosyncError
from mikrosync.payments.mpesa import daraja
from mikrosync.payments.mpesa.account import CALLBACK_PREFIX, Credentials, credentials, get_account
from mikrosync.security.vault import Vault

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0


class DarajaError(MikrosyncError):
    """Daraja refused or could not be reached; the message is safe to show an operator."""


@dataclass(frozen=True)
class StkStarted:
    checkout_request_id: str
    merchant_request_id: str | None
    customer_message: str | None


class DarajaClient:
    def __init__(
        self, credentials: Credentials, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._credentials = credentials
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._credentials.api_url, timeout=TIMEOUT_S, transport=self._transport
        )

    async def _token(self, http: httpx.AsyncClient) -> str:
        try:
            response = await http.get(
                "/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                auth=(self._credentials.consumer_key, self._credentials.consumer_secret),
            )
        except httpx.HTTPError as exc:
            raise DarajaError(f"Daraja unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DarajaError(
                f"Daraja refused the consumer key/secret (HTTP {response.status_code})"
            )
        token = _json(response).get("access_token")
        if not isinstance(token, str) or not token:
            raise DarajaError("Daraja's token answer has no access_token")
        return token

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._client() as http:
            token = await self._token(http)
            try:
                response = await http.post(
                    path, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError as exc:
                raise DarajaError(f"Daraja unreachable: {type(exc).__name__}") from None
        answer = _json(response)
        if response.status_code != 200:
            message = answer.get("errorMessage") or answer.get("ResponseDescription")
            raise DarajaError(
                f"Daraja refused the request (HTTP {response.status_code}): {message}"
            )
        return answer

    def callback_url(self, base_url: str, kind: str) -> str:
        return f"{base_url}{CALLBACK_PREFIX}/{self._credentials.callback_token}/{kind}"

    async def stk_push(
        self, *, amount: Decimal, phone: str, account_reference: str, callback_base_url: str
    ) -> StkStarted:
        """Ask Daraja to prompt `phone` for `amount` (whole shillings) to the shortcode."""
        creds = self._credentials
        if creds.passkey is None:
            raise DarajaError("the M-Pesa account has no passkey: STK push needs one")
        stamp = daraja.timestamp(now())
        body = {
            "BusinessShortCode": creds.shortcode,
            "Password": daraja.stk_password(creds.shortcode, creds.passkey, stamp),
            "Timestamp": stamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": int(amount),
            "PartyA": phone,
            "PartyB": creds.shortcode,
            "PhoneNumber": phone,
            "CallBackURL": self.callback_url(callback_base_url, "stk"),
            "AccountReference": account_reference[:12],
            "TransactionDesc": "Internet",
        }
        answer = await self._post("/mpesa/stkpush/v1/processrequest", body)
        checkout = answer.get("CheckoutRequestID")
        if str(answer.get("ResponseCode")) != "0" or not isinstance(checkout, str):
            raise DarajaError(f"STK push refused: {answer.get('ResponseDescription')}")
        return StkStarted(
            checkout_request_id=checkout,
            merchant_request_id=answer.get("MerchantRequestID"),
            customer_message=answer.get("CustomerMessage"),
        )

    async def register_c2b_urls(self, callback_base_url: str) -> None:
        """Tell Daraja where to send the shortcode's C2B validation and confirmation."""
        await self._post(
            "/mpesa/c2b/v1/registerurl",
            {
                "ShortCode": self._credentials.shortcode,
                # If our validation URL cannot be reached, complete the payment anyway: the
                # confirmation still records it.
                "ResponseType": "Completed",
                "ConfirmationURL": self.callback_url(callback_base_url, "confirmation"),
                "ValidationURL": self.callback_url(callback_base_url, "validation"),
            },
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def register_account_urls(session: AsyncSession, *, tenant_id: int, vault: Vault) -> None:
    """Register the tenant's C2B validation and confirmation URLs with Daraja for its
    shortcode (API `register-urls` and the console's button). NotFound without an account;
    DarajaError if Daraja refuses or cannot be reached."""
    account = await get_account(session, tenant_id)
    client = DarajaClient(credentials(account, vault))
    base = account.callback_base_url
    await session.commit()  # no transaction held open across the call to Daraja
    await client.register_c2b_urls(base)
