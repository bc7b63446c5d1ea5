"""Configuration from the environment (`MIKROSYNC_*`), validated once at start.

With nothing set, mikrosync runs in its embedded mode: a SQLite file and a generated secret key
under the data dir, and an embedded Redis. `load_settings()` turns every validation problem into a
`ConfigError` whose message names the environment variable, so the CLI can print it without a
traceback. Settings are built explicitly and passed down; there is no global instance.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path
from typing import Literal

from croniter import croniter
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mikrosync.db.redis import SENTINEL_URL_FORM, is_sentinel_url, parse_sentinel_url
from mikrosync.errors import ConfigError

ENV_PREFIX = "MIKROSYNC_"
SECRET_KEY_FILE = "secret.key"
MIN_SECRET_KEY_LENGTH = 32
_PLACEHOLDER_SECRETS = {"changethis", "changeme", "secret", "password"}
_DATABASE_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}


class Settings(BaseSettings):
    """Every knob mikrosync reads; the field name with the `MIKROSYNC_` prefix is the variable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(
        default=Path(".mikrosync"),
        description="Where the embedded database, secret key and Redis live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL: postgresql+asyncpg://... or sqlite+aiosqlite:///file.db. "
        "Default: a SQLite file in the data dir.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db, or Redis Sentinel: "
        "redis+sentinel://[:password@]host1:26379,host2:26379/service[/db]. "
        "Default: start an embedded Redis in the data dir.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Encrypts stored router/service passwords and signs tokens. "
        "Default: generated once and kept in the data dir.",
    )
    previous_secret_keys: str = Field(
        default="",
        description="Comma-separated older secret keys, still accepted for decryption "
        "while stored secrets are re-encrypted after a rotation.",
    )
    queue_prefix: str = Field(
        default="bull",
        pattern=r"^[A-Za-z0-9:{}_-]{1,64}$",
        description="Key prefix of the job queue in Redis (use a hash tag such as {mikrosync} "
        "on a Redis cluster).",
    )
    metrics_token: str | None = Field(
        default=None,
        description="If set, /metrics requires `Authorization: Bearer <token>`.",
    )
    token_ttl_minutes: int = Field(default=720, ge=1, le=60 * 24 * 30)
    password_hashing: Literal["strong", "minimal"] = Field(
        default="strong",
        description="argon2id cost of new staff password hashes: strong (RFC 9106 low-memory: "
        "64 MiB, 3 passes, 4 lanes) or minimal (argon2-cffi's cheapest parameters, for test "
        "suites that create thousands of users; never in production). Existing hashes verify "
        "whatever their cost.",
    )
    trusted_proxies: str = Field(
        default="",
        max_length=4000,
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies in "
        "front of mikrosync. A request from one of them is taken to come from the rightmost "
        "untrusted hop of its X-Forwarded-For (and its X-Forwarded-Proto is believed); any other "
        "peer's forwarding headers are ignored. Default: none.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    # The sync worker and its router sessions.
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    router_connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    router_command_timeout_s: float = Field(default=15.0, gt=0, le=600)
    router_max_sessions: int = Field(default=4, ge=1, le=20)
    sync_attempts: int = Field(default=8, ge=1, le=50)
    sweep_interval_s: float = Field(default=5.0, gt=0, le=3600)
    sweep_stale_after_s: float = Field(
        default=30.0,
        gt=0,
        le=86400,
        description="A pending subscriber whose job hint is older than this is pushed again.",
    )
    health_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often every router is probed (one short command on a pooled "
        "connection). Short: a router that drops for 12 s must be seen offline.",
    )
    expiry_scan_cron: str = Field(
        default="* * * * *",
        description="Cron of the periodic expiry scan (the safety net of the per-instant jobs).",
    )
    reconcile_interval_s: float = Field(default=900.0, ge=10, le=7 * 86400)
    voucher_scan_interval_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often vouchers' first logins and expiries are read from the routers.",
    )
    live_cache_s: float = Field(
        default=3.0,
        ge=0,
        le=300,
        description="How long the console keeps a router's live sessions and resources.",
    )
    # How often the worker looks for customer reminders to send (expiring, expired).
    reminder_scan_s: float = Field(default=300.0, ge=1, le=86400)
    job_lock_s: float = Field(
        default=20.0,
        ge=1,
        le=600,
        description="A job whose worker died is run again after at most this plus stalled_check_s.",
    )
    stalled_check_s: float = Field(default=10.0, ge=1, le=600)
    shutdown_timeout_s: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a database URL; use postgresql+asyncpg://USER:PASS@HOST/DB "
                "or sqlite+aiosqlite:///PATH"
            ) from None
        if url.drivername in {"postgresql", "postgres", "postgresql+psycopg2"}:
            url = url.set(drivername="postgresql+asyncpg")
        if url.drivername == "sqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        if url.drivername not in _DATABASE_DRIVERS:
            raise ValueError(
                f"driver {url.drivername!r} is not supported; use postgresql+asyncpg:// "
                "or sqlite+aiosqlite://"
            )
        return url.render_as_string(hide_password=False)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        return ", ".join(str(network) for network in parse_networks(value))

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if is_sentinel_url(value):
            try:
                parse_sentinel_url(value)
            except ValueError as exc:
                raise ValueError(f"is not a usable Redis Sentinel URL: {exc}") from None
            return value
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "must start with redis://, rediss://, unix:// or redis+sentinel:// "
                f"(Sentinel: {SENTINEL_URL_FORM})"
            )
        return value

    @field_validator("expiry_scan_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression such as '* * * * *'")
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _validate_secret_key(value)
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mikrosync.db').resolve()}"

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url is None

    def resolved_secret_key(self) -> str:
        """The configured key, or the data dir's generated one (created on first use)."""
        if self.secret_key is not None:
            return self.secret_key
        return _load_or_create_key_file(self.data_dir / SECRET_KEY_FILE)

    def previous_keys(self) -> list[str]:
        return [key.strip() for key in self.previous_secret_keys.split(",") if key.strip()]


def parse_networks(
    text: str,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`10.0.0.5, 192.168.0.0/24, ::1` as networks (`MIKROSYNC_TRUSTED_PROXIES`); ValueError
    naming a bad entry."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(found)


def _validate_secret_key(value: str) -> None:
    if value.strip().lower() in _PLACEHOLDER_SECRETS:
        raise ValueError(
            "is a placeholder; generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'"
        )
    if len(value) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(
            f"is {len(value)} characters; use at least {MIN_SECRET_KEY_LENGTH} "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


def _load_or_create_key_file(path: Path) -> str:
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        try:
            _validate_secret_key(key)
        except ValueError as exc:
            raise ConfigError(f"secret key file {path} {exc}") from None
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n", encoding="utf-8")
    return key


def load_settings() -> Settings:
    """Read the environment; raise ConfigError naming the variable on any bad value."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def redacted(url: str) -> str:
    """A URL fit for logs: any password (in the user part or a `*password=` option) replaced
    by ***."""
    url = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
    return re.sub(r"([?&][a-z_]*password=)[^&]*", r"\1***", url)


def embedded_notices(settings: Settings) -> list[str]:
    """Lines to print at start saying which embedded defaults are in use."""
    notices = []
    if settings.is_embedded_database:
        notices.append(
            f"Using the embedded SQLite database {settings.resolved_database_url.split('///')[1]} "
            "(set MIKROSYNC_DATABASE_URL for PostgreSQL)."
        )
    if settings.secret_key is None:
        notices.append(
            f"Using the generated secret key in {settings.data_dir / SECRET_KEY_FILE} "
            "(set MIKROSYNC_SECRET_KEY in production, and back it up: stored router "
            "passwords cannot be read without it)."
        )
    return notices
