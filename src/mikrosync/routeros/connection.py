"""One logged-in API connection, and the translation of librouteros failures.

Who calls it: ``pool.py`` opens and closes connections; ``client.py`` runs commands on a leased one.

What librouteros gives us and what we do ourselves:

- librouteros opens the TCP/TLS connection, logs in and encodes/decodes sentences
  (``AsyncApiProtocol.writeSentence``/``readSentence``, which also turn ``!fatal`` into
  ``FatalError`` and enforce a per-sentence timeout).
- We read the reply sentences ourselves instead of ``AsyncApi.readResponse``, for two reasons:
  that method buffers the whole reply before yielding the first row (no streaming of a 50,000
  row print), and its ``parse_word`` casts values (``"12345"`` -> ``12345``, ``"yes"`` ->
  ``True``), which loses information (a password ``yes`` and one ``true`` become equal). Rows
  here are raw ``dict[str, str]``.

A connection is *broken* (closed, never reused) after anything but a complete reply: a timeout, a
lost connection, ``!fatal``, a decoding error, or a caller that stopped reading a stream early.
After such an event the next bytes on the wire may belong to the previous command
(ROUTEROS_API.md §5), so reuse would pair replies with the wrong commands.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any, Literal

import librouteros
from librouteros import exceptions as lre

from mikrosync.routeros.config import RouterConfig
from mikrosync.routeros.errors import (
    AuthError,
    ConnectError,
    ConnectionLost,
    FatalError,
    ProtocolViolation,
    RouterOSError,
    RouterTimeout,
    SessionLimit,
    TlsError,
    trap_error,
)

log = logging.getLogger(__name__)

Stage = Literal["connect", "login", "command"]
Row = dict[str, str]

_CLOSED_ERRORS = (
    lre.ConnectionClosed,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    asyncio.IncompleteReadError,
    ssl.SSLEOFError,
)


def translate(exc: Exception, *, stage: Stage, what: str) -> RouterOSError:
    """Map a librouteros / socket / timeout failure to our hierarchy (caller chains it)."""
    if isinstance(exc, RouterOSError):
        return exc
    if isinstance(exc, TimeoutError):
        return RouterTimeout(f"{what}: no reply in time during {stage}")
    if isinstance(exc, lre.FatalError):
        return FatalError(str(exc))
    if isinstance(exc, lre.TrapError | lre.MultiTrapError):
        if stage != "command":
            return AuthError(str(exc))
        traps = exc.traps if isinstance(exc, lre.MultiTrapError) else (exc,)
        return trap_error(str(exc), traps[0].category, what)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TlsError(f"{what}: {getattr(exc, 'verify_message', None) or exc}")
    if isinstance(exc, _CLOSED_ERRORS):
        if stage == "command":
            return ConnectionLost(f"{what}: connection lost ({exc!r})")
        return SessionLimit(f"{what}: router closed the connection during {stage} ({exc!r})")
    if isinstance(exc, lre.ProtocolError | ValueError):  # incl. UnicodeError, malformed words
        return ProtocolViolation(f"{what}: {exc}")
    if isinstance(exc, OSError):
        if stage == "connect":
            return ConnectError(f"{what}: {exc.strerror or exc!r}")
        return ConnectionLost(f"{what}: {exc!r}")
    raise exc  # not a router failure but a bug: let it surface unchanged


def _attributes(words: tuple[str, ...]) -> Row:
    """``=name=value`` words -> dict; values stay text (``=`` may occur inside values)."""
    row: Row = {}
    for word in words:
        _, key, value = word.split("=", 2)
        row[key] = value
    return row


def _category(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class Connection:
    """A logged-in connection that runs one command at a time."""

    def __init__(self, api: Any, config: RouterConfig) -> None:
        self._api = api
        self._config = config
        self.broken = False
        self.reused = False
        self.commands = 0
        """Commands sent in the current lease (the pool resets it)."""
        self.replied = False
        """Whether the current command got at least one reply sentence."""
        self.last_done: Row = {}
        """Attributes of the last ``!done`` (``ret`` holds the id an ``add`` created)."""

    def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The socket's streams, for the pipelined reader (``pipeline.py``)."""
        transport = self._api.protocol.transport
        return transport.reader, transport.writer

    @property
    def encoding(self) -> str:
        return self._config.encoding

    @property
    def command_timeout(self) -> float:
        return self._config.command_timeout

    def describe(self) -> str:
        return self._config.describe()

    def looks_alive(self) -> bool:
        """Cheap check before reuse: did the router close the socket while we were idle?"""
        transport = self._api.protocol.transport
        return not (self.broken or transport.writer.is_closing() or transport.reader.at_eof())

    async def stream(self, command: str, *words: str) -> AsyncIterator[Row]:
        """Send one command and yield its ``!re`` rows as they arrive.

        Raises a trap error after ``!done`` if the router sent ``!trap``; the connection stays
        usable then. Any other failure, or an early exit by the caller, breaks the connection.
        """
        what = f"{self._config.describe()} {command}"
        protocol = self._api.protocol
        self.commands += 1
        self.replied = False
        self.broken = True  # until the reply has been read to its !done
        traps: list[Row] = []
        try:
            await protocol.writeSentence(command, *words)
            while True:
                reply, reply_words = await protocol.readSentence()
                self.replied = True
                attributes = _attributes(reply_words)
                if reply == "!re" and attributes:
                    yield attributes
                elif reply == "!trap":
                    traps.append(attributes)
                elif reply == "!done":
                    self.last_done = attributes
                    break
        except Exception as exc:
            raise translate(exc, stage="command", what=what) from exc
        self.broken = False
        if traps:
            message = ", ".join(t.get("message", "") for t in traps)
            raise trap_error(message, _category(traps[0].get("category")), command)

    async def run(self, command: str, *words: str) -> list[Row]:
        """Send one command and return all rows, within ``command_timeout`` overall."""
        what = f"{self._config.describe()} {command}"
        try:
            async with asyncio.timeout(self._config.command_timeout):
                return [row async for row in self.stream(command, *words)]
        except TimeoutError as exc:
            raise translate(exc, stage="command", what=what) from exc

    async def close(self) -> None:
        """Close the socket; failures while closing a dead connection do not matter."""
        self.broken = True
        try:
            await self._api.close()
        except (OSError, TimeoutError, lre.LibRouterosError) as exc:
            log.debug("closing %s: %r", self._config.describe(), exc)


async def open_connection(config: RouterConfig) -> Connection:
    """Connect, check TLS identity, log in; errors come out classified."""
    stage: Stage = "connect"

    async def login(api: Any, username: str, password: str) -> None:
        # Runs after the TCP/TLS handshake and before any byte of the login sentence:
        # the place to refuse a certificate that does not match the pinned fingerprint.
        nonlocal stage
        stage = "login"
        if config.tls is not None:
            config.tls.check_peer(api.protocol.transport.writer.get_extra_info("ssl_object"))
        await librouteros.async_plain(api, username, password)

    try:
        async with asyncio.timeout(config.connect_timeout):
            api = await librouteros.async_connect(
                config.host,
                config.username,
                config.password,
                port=config.effective_port,
                timeout=config.connect_timeout,
                encoding=config.encoding,
                ssl_wrapper=config.tls.context() if config.tls is not None else None,
                login_method=login,
            )
    except Exception as exc:
        raise translate(exc, stage=stage, what=config.describe()) from exc
    # From now on the per-sentence guard inside librouteros uses the command timeout.
    api.protocol.timeout = config.command_timeout
    return Connection(api, config)
