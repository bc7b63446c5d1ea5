"""Settings: embedded defaults, and clear errors naming the variable for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mikrosync.errors import ConfigError
from mikrosync.settings import Settings, embedded_notices, load_settings


def test_embedded_defaults_use_sqlite_and_generate_a_key_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'mikrosync.db'}"
    key = settings.resolved_secret_key()
    assert len(key) >= 32
    assert settings.resolved_secret_key() == key
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    notices = " ".join(embedded_notices(settings))
    assert "SQLite" in notices and "secret key" in notices


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MIKROSYNC_DATABASE_URL", "mysql://x@y/z", "MIKROSYNC_DATABASE_URL"),
        ("MIKROSYNC_DATABASE_URL", "not a url", "is not a database URL"),
        ("MIKROSYNC_REDIS_URL", "http://localhost", "must start with redis://"),
        ("MIKROSYNC_SECRET_KEY", "short", "use at least 32"),
        ("MIKROSYNC_SECRET_KEY", "changethis", "placeholder"),
        ("MIKROSYNC_TOKEN_TTL_MINUTES", "soon", "MIKROSYNC_TOKEN_TTL_MINUTES"),
        ("MIKROSYNC_LOG_LEVEL", "LOUD", "MIKROSYNC_LOG_LEVEL"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert expected in str(error.value)
    assert variable in str(error.value)


def test_postgres_url_gets_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIKROSYNC_DATABASE_URL", "postgresql://u:p@db/mikrosync")
    assert load_settings().resolved_database_url == "postgresql+asyncpg://u:p@db/mikrosync"


def test_corrupt_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("tiny\n")
    with pytest.raises(ConfigError, match="secret key file"):
        Settings(data_dir=tmp_path).resolved_secret_key()
