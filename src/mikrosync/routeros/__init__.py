"""Router client: talks the RouterOS API to MikroTik routers through librouteros (async).

The only product package importing librouteros, and it imports nothing else from mikrosync,
so it can be used on its own. Start with ``PoolRegistry().client(RouterConfig(...))``;
see docs/routeros-client.md.
"""

from mikrosync.routeros.client import Action, RouterClient, Target, WriteResult
from mikrosync.routeros.config import API_PORT, API_SSL_PORT, RouterConfig
from mikrosync.routeros.errors import (
    AuthError,
    ConnectError,
    ConnectionLost,
    FatalError,
    ForeignObject,
    PermanentRouterError,
    PermanentTrap,
    ProtocolViolation,
    RouterOSError,
    RouterTimeout,
    RouterTrap,
    SessionLimit,
    TlsError,
    TransientRouterError,
    TransientTrap,
)
from mikrosync.routeros.pool import PoolClosed, RouterPool
from mikrosync.routeros.registry import PoolRegistry
from mikrosync.routeros.resources import (
    BLOCK_LIST,
    ActiveKind,
    AddressListEntry,
    HotspotProfile,
    HotspotUser,
    LiveSession,
    PppProfile,
    PppSecret,
    Record,
    SimpleQueue,
    SystemResource,
)
from mikrosync.routeros.tags import OwnerTag, parse_tag, tag_prefix
from mikrosync.routeros.tls import TlsOptions, fingerprint_of

__all__ = [
    "API_PORT",
    "API_SSL_PORT",
    "BLOCK_LIST",
    "Action",
    "ActiveKind",
    "AddressListEntry",
    "AuthError",
    "ConnectError",
    "ConnectionLost",
    "FatalError",
    "ForeignObject",
    "HotspotProfile",
    "HotspotUser",
    "LiveSession",
    "OwnerTag",
    "PermanentRouterError",
    "PermanentTrap",
    "PoolClosed",
    "PoolRegistry",
    "PppProfile",
    "PppSecret",
    "ProtocolViolation",
    "Record",
    "RouterClient",
    "RouterConfig",
    "RouterOSError",
    "RouterPool",
    "RouterTimeout",
    "RouterTrap",
    "SessionLimit",
    "SimpleQueue",
    "SystemResource",
    "Target",
    "TlsError",
    "TlsOptions",
    "TransientRouterError",
    "TransientTrap",
    "WriteResult",
    "fingerprint_of",
    "parse_tag",
    "tag_prefix",
]
