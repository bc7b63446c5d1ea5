"""Logging set-up: plain text or structured JSON (`MIKROSYNC_LOG_JSON=true`).

JSON lines carry the ids of what is being worked on (job, subscriber, router, tenant), taken
from a context variable that the worker sets around each job, so one `grep subscriber_id=42`
(or a log query) follows a subscriber through every process. Secrets never reach the output:
a filter masks anything shaped like a password assignment or a password inside a URL.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

# Immutable default; every update sets a new dict, so contexts never share one.
_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "mikrosync_log_context", default=MappingProxyType({})
)
CONTEXT_FIELDS = ("job_id", "job", "subscriber_id", "router_id", "tenant_id")
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(password|secret|token)(['\"]?\s*[=:]\s*['\"]?)[^\s,'\"&}]+"), r"\1\2***"),
    (re.compile(r"(://[^:/@\s]*:)[^@/\s]+@"), r"\1***@"),
    # The secret M-Pesa callback URL's token (uvicorn's access log prints request paths).
    (re.compile(r"(/callbacks/daraja/)[^/\s\"']+"), r"\1***"),
)


@contextlib.contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Add ids to every log record emitted inside the block (and tasks it starts)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **ids})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def add_log_context(**ids: Any) -> None:
    """Add ids for the rest of the current context (e.g. once converge knows the router)."""
    _CONTEXT.set({**_CONTEXT.get(), **ids})


def mask_secrets(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            setattr(record, key, value)
        record.msg = mask_secrets(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k))
        line = super().format(record)
        return f"{line} [{ids}]" if ids else line

    def formatException(self, ei: Any) -> str:
        return mask_secrets(super().formatException(ei))


def setup_logging(level: str, *, json_lines: bool, stream: TextIO | None = None) -> None:
    """Configure the root logger once per process (CLI entry points call this); logs go to
    `stream`, standard error by default."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_ContextFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
