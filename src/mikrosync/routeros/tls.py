"""TLS for API-SSL (port 8729): verified by default, pinned or insecure per router.

Three modes, chosen per router:

- **verify** (default): the system CA store (or ``cafile``) and the host name must vouch for
  the certificate, as for any HTTPS site.
- **pin**: the SHA-256 fingerprint of the router's certificate (DER) must equal
  ``fingerprint``. CA and host name are not checked, which suits the self-signed certificate
  most routers carry, while still refusing an impostor. The check runs right after the
  handshake and *before* the login sentence, so the password never reaches an impostor.
- **insecure**: anything goes (encryption without authentication). For labs only.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from dataclasses import dataclass

from mikrosync.routeros.errors import TlsError


def normalise_fingerprint(value: str) -> str:
    """Accept ``AB:CD:...``, ``abcd...`` or ``sha256:ab...``; return 64 lowercase hex digits."""
    text = value.strip().lower().removeprefix("sha256:").replace(":", "")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"not a SHA-256 fingerprint: {value!r}")
    return text


def fingerprint_of(der_cert: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate, as 64 lowercase hex digits."""
    return hashlib.sha256(der_cert).hexdigest()


@dataclass(frozen=True)
class TlsOptions:
    """How to authenticate the router's certificate (see the module docstring)."""

    fingerprint: str | None = None
    insecure: bool = False
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.fingerprint is not None and self.insecure:
            raise ValueError("choose either a pinned fingerprint or insecure, not both")
        if self.fingerprint is not None:
            object.__setattr__(self, "fingerprint", normalise_fingerprint(self.fingerprint))

    @property
    def verifies_ca(self) -> bool:
        return self.fingerprint is None and not self.insecure

    def context(self) -> ssl.SSLContext:
        """A client context for this mode (built per connection: cheap, and never shared)."""
        if self.verifies_ca:
            return ssl.create_default_context(cafile=self.cafile)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def check_peer(self, ssl_object: ssl.SSLObject | None) -> None:
        """Enforce the pinned fingerprint (no-op in the other modes)."""
        if self.fingerprint is None:
            return
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise TlsError("router presented no certificate to check the pinned fingerprint")
        got = fingerprint_of(der)
        if not hmac.compare_digest(got, self.fingerprint):
            raise TlsError(
                f"router certificate fingerprint sha256:{got} does not match the pinned "
                f"sha256:{self.fingerprint}"
            )
