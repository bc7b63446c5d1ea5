"""Shared CLI plumbing: settings loading, error reporting without tracebacks, async runs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console

from mikrosync.errors import ConfigError, MikrosyncError
from mikrosync.runtime import Runtime
from mikrosync.settings import Settings, embedded_notices, load_settings

T = TypeVar("T")
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def settings_or_exit(*, announce: bool = False) -> Settings:
    """Settings from the environment, or a one-line error and exit 2."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if announce:
        for notice in embedded_notices(settings):
            err_console.print(f"[yellow]note:[/] {notice}", highlight=False)
    return settings


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; domain errors become a one-line message and exit code 1."""
    try:
        return asyncio.run(coroutine)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except MikrosyncError as exc:
        raise fail(str(exc), code=1) from None


async def with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    runtime = Runtime.build(settings)
    try:
        return await work(runtime)
    finally:
        await runtime.close()
