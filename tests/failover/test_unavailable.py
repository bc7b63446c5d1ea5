"""Fast checks of the failover support, no servers needed: the Redis Sentinel URL (parsing,
validation at start, redaction, the client it builds) and the 503 answers of the API and the
console while the database cannot be reached. The real thing, with processes: test_failover.py.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from redis.asyncio.sentinel import SentinelConnectionPool

from mikrosync.app import create_app
from mikrosync.db.redis import parse_sentinel_url, redis_connection
from mikrosync.errors import ConfigError
from mikrosync.settings import Settings, load_settings, redacted
from tests.chaos.infra import free_port
from tests.plugins.core import TEST_SECRET_KEY
from tests.plugins.web import csrf_from


def test_sentinel_url_names_sentinels_service_db_and_passwords() -> None:
    spec = parse_sentinel_url(
        "redis+sentinel://app:p%40ss@s1:26380,s2,[::1]:26381/mymaster/2?sentinel_password=sp"
    )
    assert spec.sentinels == (("s1", 26380), ("s2", 26379), ("::1", 26381))
    assert (spec.service_name, spec.db) == ("mymaster", 2)
    assert (spec.username, spec.password, spec.sentinel_password) == ("app", "p@ss", "sp")
    assert not spec.tls
    plain = parse_sentinel_url("rediss+sentinel://s1/mymaster")
    assert (plain.db, plain.password, plain.tls) == (0, None, True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+sentinel://s1:26379", "names no service"),
        ("redis+sentinel://s1:port/mymaster", "'s1:port' is not HOST or HOST:PORT"),
        ("redis+sentinel://s1,,s2/mymaster", "'' is not HOST or HOST:PORT"),
        ("redis+sentinel://s1:70000/mymaster", "port 70000 is out of range"),
        ("redis+sentinel://s1/mymaster/zero", "path must be /SERVICE or /SERVICE/DB"),
        ("redis+sentinel://s1/mymaster?master=x", "unknown option(s) master"),
        ("sentinel://s1/mymaster", "must start with redis://"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("MIKROSYNC_REDIS_URL", url)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "MIKROSYNC_REDIS_URL" in str(error.value)
    assert expected in str(error.value)


def test_a_password_in_a_malformed_sentinel_url_is_not_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIKROSYNC_REDIS_URL", "redis+sentinel://:hunter2@s1:x/mymaster")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "hunter2" not in str(error.value)


def test_redacted_hides_every_password_of_a_sentinel_url() -> None:
    url = "redis+sentinel://app:hunter2@s1,s2/mymaster/0?sentinel_password=swordfish"
    shown = redacted(url)
    assert "hunter2" not in shown and "swordfish" not in shown
    assert shown.startswith("redis+sentinel://app:***@s1,s2/mymaster/0")


async def test_a_sentinel_url_gives_a_client_that_asks_the_sentinels() -> None:
    client = redis_connection("redis+sentinel://:pw@127.0.0.1:26390,127.0.0.1:26391/svc/3")
    try:
        pool = client.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert pool.service_name == "svc" and pool.is_master
        assert pool.connection_kwargs["db"] == 3
        assert pool.connection_kwargs["password"] == "pw"
        assert pool.connection_kwargs["decode_responses"] is True
        hosts = [
            s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels
        ]
        assert hosts == [26390, 26391]
    finally:
        await client.aclose()


@pytest.fixture
async def unreachable(tmp_path: Path) -> httpx.AsyncClient:
    """The app with a PostgreSQL URL nothing listens on (and a Redis nothing listens on)."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"postgresql+asyncpg://mikrosync:dbsecret@127.0.0.1:{port}/mikrosync",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        secret_key=TEST_SECRET_KEY,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_the_api_answers_503_while_the_database_is_down(
    unreachable: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async with unreachable as http:
        answer = await http.post(
            "/api/v1/auth/token", data={"username": "a@b.test", "password": "whatever-123"}
        )
    assert answer.status_code == 503
    assert answer.json() == {"detail": "database unavailable; retry shortly"}
    assert answer.headers["retry-after"] == "5"
    assert "database unavailable; POST /api/v1/auth/token answered 503" in caplog.text
    assert "dbsecret" not in caplog.text


async def test_the_console_shows_a_503_page_while_the_database_is_down(
    unreachable: httpx.AsyncClient,
) -> None:
    async with unreachable as http:
        token = csrf_from((await http.get("/login")).text)  # no database needed for the form
        form = {"email": "a@b.test", "password": "whatever-123", "csrf_token": token}
        page = await http.post("/login", data=form)
    assert page.status_code == 503
    assert "text/html" in page.headers["content-type"]
    assert "Database unavailable" in page.text and "try again in a few seconds" in page.text
