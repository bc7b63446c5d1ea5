"""The `?` query language of `print` (ROUTEROS_API.md §6.1), evaluated per item.

Each item runs the query words against a boolean stack that is conceptually full of `true`;
the item matches when no `false` is left. Word forms: `?name` (has), `?-name` (lacks),
`?name=x` (the short form RouterOS-api sends) and `?=name=x` (equal), `?<name=x`, `?>name=x`,
and `?#ops` stack operations. Missing properties compare as the empty string, so
`?>comment=` means "has a non-empty comment".
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from mikrosync.simulator.values import normalise_for_compare

__all__ = ["Query", "compile_query"]

Row = dict[str, str]
Test = Callable[[Row], bool]
Query = Callable[[Row], bool]

_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}


def _compare(op: str, name: str, value: str) -> Test:
    compare = _COMPARATORS[op]
    wanted = normalise_for_compare(value)

    def test(row: Row) -> bool:
        have = normalise_for_compare(row.get(name, ""))
        if type(have) is not type(wanted):
            # A number against text: compare as text, as the router has no common type.
            return bool(compare(str(have), str(wanted)))
        return bool(compare(have, wanted))

    return test


def _has(name: str, present: bool) -> Test:
    return lambda row: (name in row) is present


def _compile_word(word: str) -> Test | str:
    """A test for a predicate word, or the op string of a `#` word."""
    if word.startswith("#"):
        return word[1:]
    if word[:1] in _COMPARATORS:
        name, _, value = word[1:].partition("=")
        return _compare(word[0], name, value)
    if word.startswith("-"):
        return _has(word[1:], present=False)
    if "=" in word:
        name, _, value = word.partition("=")
        return _compare("=", name, value)
    return _has(word, present=True)


def _pop(stack: list[bool]) -> bool:
    return stack.pop() if stack else True


def _run_ops(ops: str, stack: list[bool]) -> None:
    """Apply `?#` operations left to right (digits index the stack, 0 = top)."""
    i = 0
    while i < len(ops):
        char = ops[i]
        if char.isdigit():
            j = i
            while j < len(ops) and ops[j].isdigit():
                j += 1
            index = int(ops[i:j])
            value = stack[-1 - index] if index < len(stack) else True
            if j == len(ops):
                stack[:] = [value]
            else:
                stack.append(value)
                if ops[j] == ".":
                    j += 1  # "." right after an index is a no-op
            i = j
            continue
        if char == "!":
            stack.append(not _pop(stack))
        elif char in "&|":
            right, left = _pop(stack), _pop(stack)
            stack.append(left and right if char == "&" else left or right)
        elif char == ".":
            stack.append(stack[-1] if stack else True)
        i += 1


def compile_query(words: Sequence[str]) -> Query:
    """Turn the query words (without their leading `?`) into a row predicate."""
    steps = [_compile_word(word) for word in words]

    def matches(row: Row) -> bool:
        stack: list[bool] = []
        for step in steps:
            if isinstance(step, str):
                _run_ops(step, stack)
            else:
                stack.append(step(row))
        return all(stack)

    return matches
