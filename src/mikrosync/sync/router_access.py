"""How a process reaches its routers: one shared pool per router, the router's connection
settings, and a short memory of routers that just refused a connection.

`Runtime` holds one (the worker's, kept for its whole life); `Runtime.private_routers()` makes
one for a single request or CLI run and closes it afterwards, so a web process keeps no router
connections between requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mikrosync.routeros import PoolRegistry, RouterClient, RouterConfig, TlsOptions
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings

# After a router refused or timed out a connection, converges for it park at once for this
# long instead of each spending a connect timeout on a router already known to be down.
DOWN_HOLD_S = 10.0


@dataclass
class RouterAccess:
    vault: Vault
    settings: Settings
    registry: PoolRegistry = field(default_factory=PoolRegistry)
    _down_until: dict[int, float] = field(default_factory=dict)

    def client(self, router: Router) -> RouterClient:
        return self.registry.client(self.router_config(router))

    def router_config(self, router: Router) -> RouterConfig:
        tls = None
        if router.use_tls:
            tls = TlsOptions(fingerprint=router.tls_fingerprint, insecure=router.tls_insecure)
        return RouterConfig(
            host=router.host,
            port=router.port,
            username=router.username,
            password=self.vault.decrypt(router.password_encrypted),
            tls=tls,
            connect_timeout=self.settings.router_connect_timeout_s,
            command_timeout=self.settings.router_command_timeout_s,
            max_sessions=self.settings.router_max_sessions,
        )

    def known_down(self, router_id: int) -> bool:
        return self._down_until.get(router_id, 0.0) > time.monotonic()

    def mark_down(self, router_id: int) -> None:
        self._down_until[router_id] = time.monotonic() + DOWN_HOLD_S

    def mark_up(self, router_id: int) -> None:
        self._down_until.pop(router_id, None)

    async def close(self) -> None:
        """Close every pool's idle connections; usable again afterwards."""
        await self.registry.close()
