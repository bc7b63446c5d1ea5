"""Many RouterOS commands in flight on one API session (tagged commands, ROUTEROS_API.md §4).

Why: a batch of 2,000 adds sent one at a time costs 2,000 round trips (40 s at 20 ms). The API
lets a client send the next command before the previous reply arrived, each sentence carrying
`.tag=N` which the router echoes on every reply sentence of that command; replies may come back
in any order, so they are matched by tag, never by position. At most `window` commands are in
flight, so neither side's buffers fill up while the other is not reading.

Self-contained on purpose (a general pipelining client is being added to `mikrosync.routeros`
in parallel): it drives a leased pool session's librouteros protocol directly. The session is
marked broken for the duration and only given back as reusable when every reply was read, the
same rule `routeros/session.py` applies to a single command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mikrosync.routeros.connection import Connection, translate

DEFAULT_WINDOW = 64


@dataclass(frozen=True)
class Command:
    """One API command: its path (`/ip/hotspot/user/add`) and `=name=value` words."""

    path: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """The reply to one command: `ret` of its `!done` (new id of an add), or the trap."""

    ret: str = ""
    trap: str | None = None
    category: int | None = None

    @property
    def ok(self) -> bool:
        return self.trap is None


def _protocol(session: Connection) -> Any:
    # The librouteros protocol of a logged-in session; `Connection` keeps it private because
    # only a caller that reads every reply to its end may use it (as `run_pipelined` does).
    return session._api.protocol


def _split(words: Sequence[str]) -> tuple[int | None, dict[str, str]]:
    tag: int | None = None
    attributes: dict[str, str] = {}
    for word in words:
        if word.startswith(".tag="):
            tag = int(word[5:])
        elif word.startswith("="):
            _, key, value = word.split("=", 2)
            attributes[key] = value
    return tag, attributes


async def run_pipelined(
    session: Connection, commands: Sequence[Command], *, window: int = DEFAULT_WINDOW
) -> list[Outcome]:
    """Send `commands` with up to `window` in flight; their outcomes, in the given order.

    A trap is an outcome, not an exception (the others go on). A lost connection, a timeout or
    `!fatal` raise the client's classified errors (`translate`) and break the session; what was
    confirmed before is lost to the caller, so callers re-read the router before a retry.
    """
    protocol = _protocol(session)
    outcomes: list[Outcome | None] = [None] * len(commands)
    traps: dict[int, dict[str, str]] = {}
    sent = done = 0
    session.broken = True  # until every reply has been read
    what = f"{session._config.describe()} pipelined {len(commands)} command(s)"
    task = asyncio.current_task()
    try:
        while done < len(commands):
            if task is not None and task.cancelling():
                # librouteros reads through asyncio.wait_for, which on Python 3.11 drops a
                # cancellation that lands as a reply arrives, and replies arrive all the time
                # here: without this check a cancelled job (a worker shutting down) would run
                # its whole chunk to the end.
                raise asyncio.CancelledError
            while sent < len(commands) and sent - done < window:
                command = commands[sent]
                await protocol.writeSentence(command.path, *command.words, f".tag={sent}")
                sent += 1
            reply, words = await protocol.readSentence()
            tag, attributes = _split(words)
            if tag is None or not 0 <= tag < len(commands):
                raise ValueError(f"reply {reply} without a tag we sent: {words!r}")
            if reply == "!trap":
                traps[tag] = attributes
            elif reply == "!done":
                trap = traps.pop(tag, None)
                outcomes[tag] = (
                    Outcome(ret=attributes.get("ret", ""))
                    if trap is None
                    else Outcome(trap=trap.get("message", ""), category=_category(trap))
                )
                done += 1
    except Exception as exc:  # cancellation (a BaseException) passes, the session stays broken
        raise translate(exc, stage="command", what=what) from exc
    session.broken = False
    return [outcome for outcome in outcomes if outcome is not None]


def _category(attributes: dict[str, str]) -> int | None:
    value = attributes.get("category")
    return int(value) if value is not None and value.isdigit() else None
