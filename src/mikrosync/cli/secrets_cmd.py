"""`mikrosync rotate-secrets`: re-encrypt stored passwords with the current secret key."""

from __future__ import annotations

import typer

from mikrosync.cli.common import run, settings_or_exit, with_runtime
from mikrosync.runtime import Runtime
from mikrosync.usecases.secrets import rotate_secrets


def rotate() -> None:
    """Re-encrypt router and subscriber passwords with MIKROSYNC_SECRET_KEY.

    Set the new key in MIKROSYNC_SECRET_KEY and the old one in MIKROSYNC_PREVIOUS_SECRET_KEYS,
    run this once, then drop the old key. API tokens and web logins signed with the old key
    end: staff log in again.
    """

    async def work(runtime: Runtime) -> None:
        routers, subscribers = await rotate_secrets(runtime.sessionmaker, runtime.vault)
        typer.echo(f"re-encrypted {routers} router and {subscribers} subscriber password(s)")

    run(with_runtime(settings_or_exit(announce=True), work))
