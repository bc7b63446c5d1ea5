"""One pool per router for the whole process, so concurrent jobs share connections.

Keyed by ``RouterConfig.endpoint`` (host, port, API user). When the rest of a router's
configuration changes (new password, TLS pin, timeouts), the old pool is retired: it takes no
new leases from the registry and is closed at ``close()``, while callers still holding it
finish their work.
"""

from __future__ import annotations

from mikrosync.routeros.client import RouterClient
from mikrosync.routeros.config import RouterConfig
from mikrosync.routeros.pool import RouterPool


class PoolRegistry:
    """Hands out the shared pool (or a client over it) for a router; ``close()`` at shutdown."""

    def __init__(self) -> None:
        self._pools: dict[tuple[str, int, str], RouterPool] = {}
        self._retired: list[RouterPool] = []

    def pool(self, config: RouterConfig) -> RouterPool:
        key = config.endpoint
        current = self._pools.get(key)
        if current is not None and current.config == config:
            return current
        if current is not None:
            self._retired.append(current)
        pool = self._pools[key] = RouterPool(config)
        return pool

    def client(self, config: RouterConfig) -> RouterClient:
        return RouterClient(self.pool(config))

    def __len__(self) -> int:
        return len(self._pools)

    async def close(self) -> None:
        """Close every pool's idle connections; the registry can be used again afterwards."""
        pools = [*self._pools.values(), *self._retired]
        self._pools.clear()
        self._retired.clear()
        for pool in pools:
            await pool.close()
