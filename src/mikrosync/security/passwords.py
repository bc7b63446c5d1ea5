"""Staff password hashing (argon2id). Staff passwords are never stored or logged in clear.

The cost of new hashes is the process's `password_hashing` setting (`use_hashing`, called once
by the composition root); a hash records its own parameters, so any hash verifies under any
setting.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

Hashing = Literal["strong", "minimal"]
_PARAMETERS = {"strong": profiles.RFC_9106_LOW_MEMORY, "minimal": profiles.CHEAPEST}
_chosen: list[Hashing] = ["strong"]


def use_hashing(hashing: Hashing) -> None:
    """Choose the cost of the hashes this process makes from now on."""
    _chosen[0] = hashing


@cache
def _hasher(hashing: Hashing) -> PasswordHasher:
    return PasswordHasher.from_parameters(_PARAMETERS[hashing])


@cache
def _dummy_hash(hashing: Hashing) -> str:
    # Verifying against this keeps the time of a login for an unknown email close to a real one.
    return _hasher(hashing).hash("mikrosync-dummy-password")


def hash_password(password: str) -> str:
    return _hasher(_chosen[0]).hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    hasher = _hasher(_chosen[0])
    try:
        return hasher.verify(password_hash or _dummy_hash(_chosen[0]), password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False
