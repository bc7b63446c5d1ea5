"""Commands whose work lands in later issues. They say so and exit non-zero; never pretend."""

from __future__ import annotations

import typer

from mikrosync.cli.common import fail


def _not_yet(command: str) -> typer.Exit:
    return fail(f"`mikrosync {command}` is not available yet in this version.", code=3)
