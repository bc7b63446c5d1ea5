"""Sending one message: e-mail over SMTP (stdlib smtplib, in a thread) or SMS over a
provider's HTTP API: Africa's Talking's format, or a generic JSON template.

Errors come back as SendFailed with a message safe to store and log (never a password or key).
"""

from __future__ import annotations

import asyncio
import json
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx

from mikrosync.errors import MikrosyncError

TIMEOUT_S = 20.0
AFRICASTALKING_URL = "https://api.africastalking.com/version1/messaging"


class SendFailed(MikrosyncError):
    pass


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _send_mail(config: SmtpConfig, to: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    with smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_S) as smtp:
        if config.starttls:
            smtp.starttls()
        if config.username and config.password:
            smtp.login(config.username, config.password)
        smtp.send_message(message)


async def send_email(config: SmtpConfig, to: str, subject: str, text: str) -> None:
    try:
        await asyncio.to_thread(_send_mail, config, to, subject, text)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"SMTP {config.host}:{config.port}: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class SmsConfig:
    provider: str  # "africastalking" or "generic"
    url: str | None
    username: str | None
    sender: str | None
    body_template: str | None
    api_key: str | None = field(default=None, repr=False)


def _json_string(value: str) -> str:
    """`value` as the inside of a JSON string (the template supplies the quotes)."""
    return json.dumps(value)[1:-1]


def _generic_request(config: SmsConfig, phone: str, text: str) -> httpx.Request:
    """POST `url` with the tenant's JSON template, {phone}, {message} and {sender} filled in
    (JSON-escaped); the API key, if any, goes in an Authorization: Bearer header."""
    if not config.url:
        raise SendFailed("the SMS URL is not set")
    template = config.body_template or '{"to": "{phone}", "message": "{message}"}'
    body = (
        template.replace("{phone}", _json_string(phone))
        .replace("{message}", _json_string(text))
        .replace("{sender}", _json_string(config.sender or ""))
    )
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    return httpx.Request("POST", config.url, content=body.encode(), headers=headers)


def _africastalking_request(config: SmsConfig, phone: str, text: str) -> httpx.Request:
    """Africa's Talking's bulk SMS API: form fields username, to (+254...), message and from,
    the key in the apiKey header."""
    if not (config.username and config.api_key):
        raise SendFailed("Africa's Talking needs a username and an API key")
    form = {"username": config.username, "to": f"+{phone.lstrip('+')}", "message": text}
    if config.sender:
        form["from"] = config.sender
    headers = {"apiKey": config.api_key, "Accept": "application/json"}
    return httpx.Request("POST", config.url or AFRICASTALKING_URL, data=form, headers=headers)


async def send_sms(
    config: SmsConfig,
    phone: str,
    text: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    if config.provider == "africastalking":
        request = _africastalking_request(config, phone, text)
    else:
        request = _generic_request(config, phone, text)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, transport=transport) as http:
            response = await http.send(request)
    except httpx.HTTPError as exc:
        raise SendFailed(f"SMS provider unreachable: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise SendFailed(f"SMS provider answered HTTP {response.status_code}")
