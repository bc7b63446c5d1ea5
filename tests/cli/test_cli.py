"""The real `mikrosync` command, run as a user would run it, in a scratch directory."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.plugins.core import MIKROSYNC, environ_without_settings

# Tier (tests/plugins/tiers.py): runs the CLI as a subprocess.
pytestmark = pytest.mark.e2e


def _run(
    cwd: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = environ_without_settings()
    return subprocess.run(
        [*MIKROSYNC, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=clean | (env or {}),
        timeout=60,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_first_run_flow_on_the_embedded_default(tmp_path: Path) -> None:
    migrated = _run(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "embedded SQLite" in migrated.stderr and "secret key" in migrated.stderr
    assert (tmp_path / ".mikrosync" / "mikrosync.db").exists()
    created = _run(tmp_path, "tenant", "create", "acme", "--name", "Acme ISP")
    assert created.returncode == 0 and "created tenant acme" in created.stdout
    user = _run(
        tmp_path,
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "ops@acme.test",
        "--password",
        "S3cure-pass!",
        "--role",
        "owner",
    )
    assert user.returncode == 0, user.stderr
    piped = _run(
        tmp_path,
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "view@acme.test",
        "--role",
        "viewer",
        stdin="Viewer-pass-1\n",
    )
    assert piped.returncode == 0, piped.stderr
    admin = _run(
        tmp_path,
        "user",
        "create",
        "--platform-admin",
        "--email",
        "root@isp.test",
        "--password",
        "Platform-pass-1",
    )
    assert admin.returncode == 0 and "platform admin" in admin.stdout


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(
        tmp_path, "migrate", env={"MIKROSYNC_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    assert result.returncode == 2
    assert "cannot migrate the database" in result.stderr and "Traceback" not in result.stderr


def test_serve_answers_health_and_api(tmp_path: Path) -> None:
    port = _free_port()
    clean = environ_without_settings()
    server = subprocess.Popen(
        [*MIKROSYNC, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        unauth = httpx.get(f"http://127.0.0.1:{port}/api/v1/subscribers")
        assert unauth.status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "mikrosync on http" in output


def test_serve_refuses_an_external_database_that_is_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'external.db'}"
    result = _run(tmp_path, "serve", env={"MIKROSYNC_DATABASE_URL": url})
    assert result.returncode == 2
    assert "run `mikrosync migrate` first" in result.stderr
