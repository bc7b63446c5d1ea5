"""Router errors in an operator's words.

The sync engine keeps the router's and the network's exact words (logs, API, the error's
title attribute in the console); the console's text says what happened without the client's
internals: `api://api@127.0.0.1:42515: "Connect call failed ('127.0.0.1', 42515)"` becomes
"connection refused: nothing answers at 127.0.0.1:42515 (router down, or its API service
off)". A router's own words (a trap such as "failure: pool exhausted") are kept as they are.
"""

from __future__ import annotations

import re

# `api://user@host:port: ` or `api-ssl://...: `: the client's name for the router.
_WHERE = re.compile(
    r"^(?:api|api-ssl)://(?:[^@\s]*@)?(?P<host>[^\s:]+|\[[^\]]+\]):(?P<port>\d+):\s*"
)

_KNOWN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"connect call failed|connection refused", re.I),
        "connection refused: nothing answers at {where} (router down, or its API service off)",
    ),
    (re.compile(r"timed? ?out|timeout", re.I), "no answer from {where} in time"),
    (
        re.compile(r"name or service not known|nodename nor servname|getaddrinfo", re.I),
        "unknown host name {host}",
    ),
    (re.compile(r"no route to host|network is unreachable", re.I), "no route to {where}"),
    (
        re.compile(r"connection lost|connection reset|broken pipe", re.I),
        "the connection to {where} dropped",
    ),
    (
        re.compile(r"invalid user name or password|cannot log in", re.I),
        "{where} refused the API user or password",
    ),
)


def router_words(message: str | None) -> str:
    if not message:
        return ""
    found = _WHERE.match(message)
    if found is None:
        return message
    host, port = found.group("host"), found.group("port")
    rest = message[found.end() :].strip().strip('"')
    for pattern, words in _KNOWN:
        if pattern.search(rest):
            return words.format(where=f"{host}:{port}", host=host)
    return rest or message
