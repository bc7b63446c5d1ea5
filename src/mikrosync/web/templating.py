"""The Jinja2 environment of the web UI and its filters.

Dates are stored in UTC and shown in the tenant's time zone: the filters read the zone from the
render context (`tz`, put there by `web/responses.py`), so no template converts by hand.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.templating import Jinja2Templates

from mikrosync.web.router_words import router_words

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
# What a `<input type="datetime-local">` sends and shows.
INPUT_DATETIME = "%Y-%m-%dT%H:%M"
MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR


def zone(name: str | None) -> ZoneInfo:
    """The named IANA zone; UTC when it is missing or unknown (never fail a page on it)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@pass_context
def localtime(context: Context, value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(context["tz"]).strftime("%Y-%m-%d %H:%M")


@pass_context
def localtime_s(context: Context, value: datetime | None) -> str:
    """With seconds: where they matter (the timeline, router last seen, outages, audit)."""
    if value is None:
        return "—"
    return value.astimezone(context["tz"]).strftime("%Y-%m-%d %H:%M:%S")


@pass_context
def input_datetime(context: Context, value: datetime | None) -> str:
    return "" if value is None else value.astimezone(context["tz"]).strftime(INPUT_DATETIME)


def duration(minutes: int) -> str:
    """A package duration for people: `30 days`, `1 day 6 h`, `45 min`."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, mins = divmod(rest, MINUTES_PER_HOUR)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def split_duration(minutes: int) -> dict[str, int]:
    """Minutes as the package form's days, hours and minutes fields."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, mins = divmod(rest, MINUTES_PER_HOUR)
    return {"duration_days": days, "duration_hours": hours, "duration_minutes": mins}


def build_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Any] = {
        "localtime": localtime,
        "localtime_s": localtime_s,
        "input_datetime": input_datetime,
        "duration": duration,
        "router_error": router_words,
    }
    env.filters.update(filters)
    return Jinja2Templates(env=env)
