"""The `mikrosync` command's usage and error paths, run in this process (Typer's CliRunner)
on the same Typer app the console script runs: a subprocess per case cost 1.5 CPU-seconds of
imports, for what the app decides alone. tests/cli/test_cli.py keeps the real process for the
paths that depend on it (the first-run flow, serve, signals)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.cli import run_in_process as run

# Tier (tests/plugins/tiers.py): the commands open SQLite files of their own.
pytestmark = pytest.mark.db

COMMANDS = [
    "demo",
    "serve",
    "worker",
    "migrate",
    "simulate-router",
    "simulate-mpesa",
    "reconcile",
    "import-csv",
    "import-router",
    "rotate-secrets",
    "tenant create",
    "user create",
    "vouchers create",
    "queue status",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    result = run(tmp_path, *command.split(), "--help")
    assert result.returncode == 0 and "Usage" in result.stdout, result.stderr


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    cases = [
        (("tenant", "create", "acme", "--name", "A"), None, "already exists"),
        (
            ("user", "create", "--tenant", "ghost", "--email", "a@b.test", "--password", "x" * 10),
            None,
            "no tenant with slug 'ghost'",
        ),
        (
            ("user", "create", "--email", "a@b.test", "--password", "x" * 10),
            None,
            "exactly one of --tenant",
        ),
        (
            ("user", "create", "--platform-admin", "--email", "a@b.test", "--password", "short"),
            None,
            "at least 8 characters",
        ),
        (("tenant", "create", "Bad Slug", "--name", "A"), None, "slug must be"),
        (("migrate",), {"MIKROSYNC_DATABASE_URL": "mysql://x/y"}, "MIKROSYNC_DATABASE_URL"),
        (("migrate",), {"MIKROSYNC_SECRET_KEY": "changethis"}, "MIKROSYNC_SECRET_KEY"),
    ]
    assert run(tmp_path, "tenant", "create", "acme", "--name", "A").returncode == 0
    for args, env, expected in cases:
        result = run(tmp_path, *args, env=env)
        assert result.returncode != 0, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
