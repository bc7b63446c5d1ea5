"""Encryption at rest for router API passwords and subscriber service passwords.

Both must be sent to a router, so they are encrypted (Fernet: AES-128-CBC + HMAC-SHA256), not
hashed. The Fernet key is derived from `MIKROSYNC_SECRET_KEY`; older keys listed in
`MIKROSYNC_PREVIOUS_SECRET_KEYS` still decrypt, so a key can be rotated without downtime.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from mikrosync.errors import ConfigError

_KEY_CONTEXT = b"mikrosync/vault/v1"


def _fernet_for(secret_key: str) -> Fernet:
    digest = hashlib.sha256(_KEY_CONTEXT + secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class Vault:
    """Encrypts with the current key; decrypts with the current or any previous key."""

    def __init__(self, secret_key: str, previous_keys: list[str] | None = None) -> None:
        keys = [secret_key, *(previous_keys or [])]
        self._fernet = MultiFernet([_fernet_for(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted with MIKROSYNC_SECRET_KEY; if the key was "
                "rotated, list the old one in MIKROSYNC_PREVIOUS_SECRET_KEYS"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the current key (after a rotation)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted with MIKROSYNC_SECRET_KEY or "
                "MIKROSYNC_PREVIOUS_SECRET_KEYS; list the key it was written with"
            ) from None
