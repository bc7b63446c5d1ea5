"""A tenant's Daraja account: credentials encrypted at rest (the vault, like router
passwords), the secret callback token, and the optional allow-list of callback sources."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.session import SessionMaker
from mikrosync.errors import InvalidInput, NotFound
from mikrosync.http.fields import RequestModel
from mikrosync.payments.models import MpesaAccount
from mikrosync.routeros.value_rules import IPV4_SCHEMA
from mikrosync.security.vault import Vault

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "/api/v1/callbacks/daraja"
SANDBOX_URL = "https://sandbox.safaricom.co.ke"


URL_PATTERN = r"^https?://[!-.0-~][!-~]*$"
"""An http(s) address of printable ASCII without spaces, with a host (a trailing '/' is dropped)."""
_URL = re.compile(URL_PATTERN)
SOURCE_PATTERN = rf"^{IPV4_SCHEMA['pattern'][1:-1]}(?:/(?:3[0-2]|[12]?[0-9]))?$"
"""An IPv4 address or network (Safaricom calls from IPv4 addresses)."""
_SOURCE = re.compile(SOURCE_PATTERN)


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError("must be an http:// or https:// address")
    return value.rstrip("/")


def _network(value: str) -> str:
    if not _SOURCE.fullmatch(value):
        raise ValueError(f"{value!r} is not an IPv4 address or network")
    return str(ipaddress.ip_network(value, strict=False))


class MpesaAccountWrite(RequestModel):
    """PUT body. Secrets are required the first time; afterwards an absent one is kept."""

    model_config = ConfigDict(extra="forbid")

    shortcode: str = Field(pattern=r"^[0-9]{5,10}$")
    api_url: str = Field(
        default=SANDBOX_URL, max_length=200, json_schema_extra={"pattern": URL_PATTERN}
    )
    callback_base_url: str = Field(max_length=150, json_schema_extra={"pattern": URL_PATTERN})
    consumer_key: str | None = Field(default=None, min_length=1, max_length=200)
    consumer_secret: str | None = Field(default=None, min_length=1, max_length=200)
    passkey: str | None = Field(default=None, min_length=1, max_length=200)
    allowed_sources: list[Annotated[str, Field(json_schema_extra={"pattern": SOURCE_PATTERN})]] = (
        Field(default_factory=list, max_length=100)
    )

    _urls = field_validator("api_url", "callback_base_url")(_url)

    @field_validator("allowed_sources")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        return [_network(v) for v in value]


class MpesaAccountRead(BaseModel):
    """What the API shows: never a credential, never the callback token."""

    shortcode: str
    api_url: str
    callback_base_url: str
    allowed_sources: list[str]
    has_passkey: bool


class CallbackUrls(BaseModel):
    """Shown once, when the token is made: register these with Daraja."""

    validation: str
    confirmation: str
    stk: str


class MpesaAccountSaved(BaseModel):
    account: MpesaAccountRead
    callback_urls: CallbackUrls | None
    """Only when a new callback token was made (first setup, rotation)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def callback_urls(account: MpesaAccount, token: str) -> CallbackUrls:
    base = f"{account.callback_base_url}{CALLBACK_PREFIX}/{token}"
    return CallbackUrls(
        validation=f"{base}/validation", confirmation=f"{base}/confirmation", stk=f"{base}/stk"
    )


def read(account: MpesaAccount) -> MpesaAccountRead:
    return MpesaAccountRead(
        shortcode=account.shortcode,
        api_url=account.api_url,
        callback_base_url=account.callback_base_url,
        allowed_sources=list(account.allowed_sources or []),
        has_passkey=account.passkey_encrypted is not None,
    )


async def get_account(session: AsyncSession, tenant_id: int) -> MpesaAccount:
    found = (
        await session.scalars(select(MpesaAccount).where(MpesaAccount.tenant_id == tenant_id))
    ).first()
    if found is None:
        raise NotFound("M-Pesa is not configured for this tenant")
    return found


def _new_token(account: MpesaAccount, vault: Vault) -> str:
    token = secrets.token_urlsafe(32)
    account.callback_token_hash = token_hash(token)
    account.callback_token_encrypted = vault.encrypt(token)
    return token


async def save_account(
    session: AsyncSession, *, tenant_id: int, data: MpesaAccountWrite, vault: Vault
) -> MpesaAccountSaved:
    existing = (
        await session.scalars(select(MpesaAccount).where(MpesaAccount.tenant_id == tenant_id))
    ).first()
    token: str | None = None
    if existing is None:
        for name in ("consumer_key", "consumer_secret"):
            if getattr(data, name) is None:
                raise InvalidInput(name, f"{name} is required to set up M-Pesa")
        account = MpesaAccount(tenant_id=tenant_id)
        token = _new_token(account, vault)
        session.add(account)
    else:
        account = existing
    account.shortcode = data.shortcode
    account.api_url = data.api_url
    account.callback_base_url = data.callback_base_url
    account.allowed_sources = data.allowed_sources
    if data.consumer_key is not None:
        account.consumer_key_encrypted = vault.encrypt(data.consumer_key)
    if data.consumer_secret is not None:
        account.consumer_secret_encrypted = vault.encrypt(data.consumer_secret)
    if data.passkey is not None:
        account.passkey_encrypted = vault.encrypt(data.passkey)
    await session.commit()
    urls = callback_urls(account, token) if token else None
    return MpesaAccountSaved(account=read(account), callback_urls=urls)


async def rotate_token(session: AsyncSession, *, tenant_id: int, vault: Vault) -> MpesaAccountSaved:
    """A new callback URL; the old one answers 403 from now on (register the new one)."""
    account = await get_account(session, tenant_id)
    token = _new_token(account, vault)
    await session.commit()
    return MpesaAccountSaved(account=read(account), callback_urls=callback_urls(account, token))


async def by_token(session: AsyncSession, token: str) -> MpesaAccount | None:
    if not token or len(token) > 100:
        return None
    query = select(MpesaAccount).where(MpesaAccount.callback_token_hash == token_hash(token))
    return (await session.scalars(query)).first()


def source_allowed(account: MpesaAccount, host: str | None) -> bool:
    networks = account.allowed_sources or []
    if not networks:
        return True
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


@dataclass(frozen=True)
class Credentials:
    """Decrypted for one outgoing Daraja call; never stored, logged or queued."""

    api_url: str
    shortcode: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    passkey: str | None = field(repr=False)
    callback_token: str = field(repr=False)


def credentials(account: MpesaAccount, vault: Vault) -> Credentials:
    return Credentials(
        api_url=account.api_url,
        shortcode=account.shortcode,
        consumer_key=vault.decrypt(account.consumer_key_encrypted),
        consumer_secret=vault.decrypt(account.consumer_secret_encrypted),
        passkey=vault.decrypt(account.passkey_encrypted) if account.passkey_encrypted else None,
        callback_token=vault.decrypt(account.callback_token_encrypted),
    )


async def rotate_account_secrets(sessionmaker: SessionMaker, vault: Vault) -> int:
    """Re-encrypt every tenant's Daraja credentials and callback token with the current key
    (`mikrosync rotate-secrets`). Safe to run twice."""
    async with sessionmaker() as session:
        rows = (await session.scalars(select(MpesaAccount))).all()
        for account in rows:
            account.consumer_key_encrypted = vault.rotate(account.consumer_key_encrypted)
            account.consumer_secret_encrypted = vault.rotate(account.consumer_secret_encrypted)
            account.callback_token_encrypted = vault.rotate(account.callback_token_encrypted)
            if account.passkey_encrypted is not None:
                account.passkey_encrypted = vault.rotate(account.passkey_encrypted)
        await session.commit()
    return len(rows)
