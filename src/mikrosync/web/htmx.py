"""HTMX request helpers (NetBox's `utilities/htmx.py`): one view renders either the full page or
just its partial, depending on who asks."""

from __future__ import annotations

from fastapi import Request


def is_htmx(request: Request) -> bool:
    """True for a request htmx sent (a poll, a filter change), which wants only a partial.

    A boosted or history-restore request wants the whole page, so it does not count.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def pick(request: Request, page: str, partial: str) -> str:
    """The template to render: `partial` (`<domain>/_name.html`) for htmx, else `page`."""
    return partial if is_htmx(request) else page
