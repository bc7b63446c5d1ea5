"""Secrets at rest, staff password hashing and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mikrosync.errors import ConfigError
from mikrosync.security.passwords import hash_password, use_hashing, verify_password
from mikrosync.security.tokens import issue_token, read_token
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings

OLD_KEY = "old-key-" + "a" * 40
NEW_KEY = "new-key-" + "b" * 40


def test_vault_round_trip_and_ciphertext_hides_the_secret() -> None:
    vault = Vault(NEW_KEY)
    ciphertext = vault.encrypt("router-pw")
    assert "router-pw" not in ciphertext
    assert vault.decrypt(ciphertext) == "router-pw"


def test_rotated_key_still_decrypts_and_rotate_re_encrypts() -> None:
    ciphertext = Vault(OLD_KEY).encrypt("pw")
    rotated_vault = Vault(NEW_KEY, [OLD_KEY])
    assert rotated_vault.decrypt(ciphertext) == "pw"
    assert Vault(NEW_KEY).decrypt(rotated_vault.rotate(ciphertext)) == "pw"


def test_wrong_key_says_what_to_do() -> None:
    ciphertext = Vault(OLD_KEY).encrypt("pw")
    with pytest.raises(ConfigError, match="MIKROSYNC_PREVIOUS_SECRET_KEYS"):
        Vault(NEW_KEY).decrypt(ciphertext)


def test_password_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password("S3cure-pass!")
    assert "S3cure" not in hashed
    assert verify_password("S3cure-pass!", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("S3cure-pass!", None)


def test_production_hashes_are_strong_and_every_cost_verifies_under_any_setting() -> None:
    """The suite hashes with the cheapest argon2 parameters (MIKROSYNC_PASSWORD_HASHING=minimal,
    tests/plugins/core.py); a server left at its default makes RFC 9106 hashes, and a hash
    made at one cost still verifies after the setting changes."""
    assert Settings.model_fields["password_hashing"].default == "strong"
    try:
        use_hashing("strong")
        strong = hash_password("S3cure-pass!")
        assert "$argon2id$v=19$m=65536,t=3,p=4$" in strong
        use_hashing("minimal")
        cheap = hash_password("S3cure-pass!")
        assert "$m=65536" not in cheap
        assert verify_password("S3cure-pass!", strong) and verify_password("S3cure-pass!", cheap)
        use_hashing("strong")
        assert verify_password("S3cure-pass!", cheap) and not verify_password("wrong", cheap)
    finally:
        use_hashing(Settings().password_hashing)


def test_tokens_expire_and_reject_other_keys() -> None:
    token = issue_token(secret_key=NEW_KEY, user_id=7, ttl=timedelta(minutes=5))
    claims = read_token(token, secret_key=NEW_KEY)
    assert claims is not None and claims.user_id == 7
    assert read_token(token, secret_key=OLD_KEY) is None
    expired = issue_token(secret_key=NEW_KEY, user_id=7, ttl=timedelta(seconds=-1))
    assert read_token(expired, secret_key=NEW_KEY) is None
    assert read_token("not-a-token", secret_key=NEW_KEY) is None
