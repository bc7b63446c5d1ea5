"""The query language evaluator, including every `?#` stack operation (§6.1)."""

from __future__ import annotations

import pytest

from mikrosync.simulator.query import compile_query

ROWS = [
    {".id": "*1", "name": "alice", "disabled": "false", "limit": "5", "comment": "vip"},
    {".id": "*2", "name": "bob", "disabled": "true", "limit": "10"},
    {".id": "*3", "name": "carol", "disabled": "false", "limit": "20", "comment": ""},
]


def ids(*words: str) -> list[str]:
    query = compile_query(words)
    return [row[".id"] for row in ROWS if query(row)]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ((), ["*1", "*2", "*3"]),
        (("=name=bob",), ["*2"]),
        (("name=bob",), ["*2"]),  # short form (RouterOS-api)
        (("comment",), ["*1", "*3"]),  # has property
        (("-comment",), ["*2"]),  # lacks property
        ((">comment=",), ["*1"]),  # non-empty comment
        (("<limit=10",), ["*1"]),  # numeric, not lexicographic
        ((">limit=9",), ["*2", "*3"]),
        (("<name=bob",), ["*1"]),
        (("=disabled=no",), ["*1", "*3"]),  # yes/no equals true/false
        (("=disabled=yes",), ["*2"]),
        (("=name=alice", "=disabled=no"), ["*1"]),  # implicit AND
    ],
)
def test_predicates(words: tuple[str, ...], expected: list[str]) -> None:
    assert ids(*words) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("=name=bob", "#!"), ["*1", "*3"]),
        (("=name=alice", "=name=bob", "#|"), ["*1", "*2"]),
        (("=name=alice", "=name=bob", "=name=carol", "#|", "#|"), ["*1", "*2", "*3"]),
        (("=name=alice", "=name=bob", "=name=carol", "#||"), ["*1", "*2", "*3"]),
        (("=disabled=no", "=limit=20", "#&"), ["*3"]),
        (("=disabled=no", "=limit=20", "#&!"), ["*1", "*2"]),
        # index at the end replaces the whole stack: keep only "name=bob"
        (("=name=bob", "=disabled=no", "#1"), ["*2"]),
        # index followed by more ops pushes a copy: (bob) (not-disabled) copy-of-bob | ...
        (("=name=bob", "=disabled=no", "#1|"), ["*2"]),
        # "." right after an index is a no-op (a dup would leave "bob" on the stack)
        (("=name=bob", "#0.!|"), ["*1", "*2", "*3"]),
        (("=name=alice", "#.&"), ["*1"]),  # "." alone duplicates the top
        (("#!",), []),  # negating the implicit "true"
    ],
)
def test_stack_operations(words: tuple[str, ...], expected: list[str]) -> None:
    assert ids(*words) == expected
