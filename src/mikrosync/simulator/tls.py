"""A self-signed certificate made at start, for the API-SSL port (ROUTEROS_API.md §1).

Real routers often serve API-SSL with a self-signed certificate too, which is why clients need
a pin-or-insecure option. An EC key keeps generation in the milliseconds.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["ServerCertificate", "make_certificate"]


@dataclass(frozen=True)
class ServerCertificate:
    """The PEM certificate clients may pin, and a server context that serves it."""

    cert_pem: bytes
    context: ssl.SSLContext

    @property
    def sha256_fingerprint(self) -> str:
        """Hex SHA-256 of the DER certificate, the usual pinning value."""
        der = ssl.PEM_cert_to_DER_cert(self.cert_pem.decode("ascii"))
        return hashlib.sha256(der).hexdigest()


def make_certificate(common_name: str) -> ServerCertificate:
    """Generate a key and a one-year self-signed certificate for localhost and `common_name`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(alt_names, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain only reads files; the directory is gone as soon as it is loaded.
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return ServerCertificate(cert_pem=cert_pem, context=context)
