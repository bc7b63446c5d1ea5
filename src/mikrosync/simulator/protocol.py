"""Requests and replies at the sentence level: parsing words, building reply sentences.

Knows the word kinds of ROUTEROS_API.md §2.2 and the reply rules of §4 (`.tag` echoed only when
the client sent one, `!trap` carries only `category` and `message`, every reply ends in
`!done`). It knows nothing about menus or tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mikrosync.simulator.errors import Trap

__all__ = ["Reply", "Request", "parse_request"]


@dataclass
class Request:
    """One client sentence: the command word, `=attributes`, `?queries` (ordered), `.tag`."""

    command: str
    attributes: dict[str, str] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    tag: str | None = None


def parse_request(words: list[str]) -> Request:
    """Split a sentence into its parts; `=name` without a second `=` means an empty value."""
    request = Request(command=words[0])
    for word in words[1:]:
        if word.startswith("="):
            name, _, value = word[1:].partition("=")
            request.attributes[name] = value
        elif word.startswith("?"):
            request.queries.append(word[1:])
        elif word.startswith(".tag="):
            request.tag = word[len(".tag=") :] or None
        # Other API attributes do not exist (§2.2); real routers ignore them, so do we.
    return request


Sentence = list[str]


@dataclass
class Reply:
    """Builds the sentences of one reply, appending `.tag` to each when the request had one."""

    tag: str | None = None
    sentences: list[Sentence] = field(default_factory=list)

    def _add(self, words: Sentence) -> None:
        if self.tag is not None:
            words.append(f".tag={self.tag}")
        self.sentences.append(words)

    def row(self, attributes: dict[str, str]) -> None:
        """`!re` with the row's properties (an empty one is legal: librouteros drops it)."""
        self._add(["!re", *(f"={k}={v}" for k, v in attributes.items())])

    def empty(self) -> None:
        """`!empty`: RouterOS >= 7.18 says "no data" explicitly before `!done`."""
        self._add(["!empty"])

    def trap(self, trap: Trap) -> None:
        """`!trap` with only `category` (when known) and `message`."""
        words = ["!trap"]
        if trap.category is not None:
            words.append(f"=category={trap.category}")
        words.append(f"=message={trap.message}")
        self._add(words)

    def done(self, ret: str | None = None) -> None:
        """`!done`, optionally with `=ret=` (add's new id, count-only, login challenge)."""
        self._add(["!done"] if ret is None else ["!done", f"=ret={ret}"])

    def fatal(self, message: str) -> None:
        """`!fatal` with ONE plain word (not `=message=`); the caller then closes."""
        self._add(["!fatal", message])
