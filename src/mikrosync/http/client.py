"""Who is calling, behind a reverse proxy or not: the one rule every address-taking part uses
(the audit log of the API and the console, login throttling, the M-Pesa allow-list), and the
scheme the client used (the login cookie's `Secure` flag, HSTS).

`MIKROSYNC_TRUSTED_PROXIES` lists the proxies (addresses or networks) allowed to say who the
client is. A request whose direct peer is one of them is read from `X-Forwarded-For`, right to
left: each hop a trusted proxy appended is skipped, and the first hop that is not a trusted
proxy is the client (the rightmost untrusted hop). Anything left of it was written by the
client itself and is never believed. A request from any other peer is that peer, whatever
headers it sends. With no trusted proxies (the default) the headers are ignored altogether;
`mikrosync serve` turns uvicorn's own proxy-header handling off so this is the only rule.
"""

from __future__ import annotations

import functools
import ipaddress

from fastapi import Request

from mikrosync.settings import parse_networks

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDED_FOR = "x-forwarded-for"
FORWARDED_PROTO = "x-forwarded-proto"


@functools.lru_cache(maxsize=16)
def _networks(text: str) -> tuple[Network, ...]:
    return parse_networks(text)


def _address(text: str) -> Address | None:
    """An address as a peer or a forwarded hop names it (`[v6]` brackets allowed), or None."""
    value = text.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def resolve(peer: str | None, forwarded_for: list[str], trusted_proxies: str) -> str | None:
    """The client's address from the direct `peer`, the `X-Forwarded-For` header lines and the
    trusted proxies (the setting's text). Pure: the rule, testable without a request."""
    networks = _networks(trusted_proxies)
    if peer is None or not networks or not _trusted(_address(peer), networks):
        return peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",") if hop.strip()]
    nearest = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Not an address (a typo, "unknown", an injection attempt): nothing left of it can be
            # believed; the last hop a trusted proxy vouched for is the best known.
            return nearest
        if not _trusted(address, networks):
            return str(address)
        nearest = str(address)
    return nearest


def _trusted_proxies(request: Request) -> str:
    runtime = getattr(request.app.state, "runtime", None)
    return str(getattr(runtime.settings, "trusted_proxies", "")) if runtime is not None else ""


def client_address(request: Request) -> str | None:
    """The address of the client that made `request` (see the module's rule)."""
    peer = request.client.host if request.client else None
    return resolve(peer, request.headers.getlist(FORWARDED_FOR), _trusted_proxies(request))


def is_https(request: Request) -> bool:
    """Whether the client reached us over HTTPS: the request's own scheme, or the
    `X-Forwarded-Proto` of a trusted proxy (one terminating TLS in front of us)."""
    if request.url.scheme == "https":
        return True
    peer = _address(request.client.host) if request.client else None
    if not _trusted(peer, _networks(_trusted_proxies(request))):
        return False
    proto = request.headers.get(FORWARDED_PROTO, "")
    # A chain of proxies may list several; the one nearest the client is the first.
    return proto.split(",")[0].strip().lower() == "https"
