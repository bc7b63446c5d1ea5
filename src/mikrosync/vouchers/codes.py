"""Voucher codes: generation and the checks that keep them typeable and unique (pure, no I/O).

Codes are drawn with `secrets` (a guessable code is free internet). The default alphabet leaves
out look-alike characters (0/O, 1/I/L, 5/S, 2/Z, 8/B) because codes are read off paper and typed
on phones.

A code space too small for the count (counting the codes already on the router) is a
StateConflict: a 409 in the API, since no request schema can state it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection

from mikrosync.errors import InvalidInput, StateConflict

DEFAULT_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LOOK_ALIKES = frozenset("0O1IL5S2Z8B")
MAX_COUNT = 10_000
# The code space must be this many times the count: codes then rarely collide, and guessing
# one is at least that hard per attempt (a 10-voucher batch of 2-character codes would not do).
SPACE_FACTOR = 1000
ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def check_alphabet(alphabet: str) -> str:
    """The alphabet as used: distinct characters, letters and digits only."""
    distinct = "".join(dict.fromkeys(alphabet))
    if len(distinct) < 2:
        raise StateConflict("alphabet", "the alphabet needs at least 2 different characters")
    bad = sorted(set(distinct) - ALLOWED)
    if bad:
        raise InvalidInput("alphabet", f"only letters and digits may be used, not {bad!r}")
    return distinct


def check_space(*, count: int, code_length: int, alphabet: str) -> None:
    """Refuse a batch whose code space is too small for its count (names the field to change)."""
    space = len(alphabet) ** code_length
    if space < count * SPACE_FACTOR:
        raise StateConflict(
            "code_length",
            f"{len(alphabet)} characters ^ {code_length} = {space} possible codes, too few for "
            f"{count} vouchers (need at least {count * SPACE_FACTOR}): make the codes longer "
            "or the alphabet larger",
        )


def draw(alphabet: str, length: int, prefix: str = "") -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def draw_unique(
    count: int,
    *,
    alphabet: str,
    length: int,
    prefix: str,
    taken: Callable[[str], bool] | Collection[str] = (),
) -> list[str]:
    """`count` distinct codes none of which is `taken` (a set, or a predicate)."""
    is_taken = taken if callable(taken) else taken.__contains__
    codes: dict[str, None] = {}
    attempts = 0
    while len(codes) < count:
        attempts += 1
        if attempts > count * 20 + 100:
            raise StateConflict(
                "code_length", "could not draw enough unused codes: make them longer"
            )
        code = draw(alphabet, length, prefix)
        if code not in codes and not is_taken(code):
            codes[code] = None
    return list(codes)
