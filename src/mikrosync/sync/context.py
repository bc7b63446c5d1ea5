"""What the sync routines need, passed in explicitly (never built inside them).

`SyncContext` is a Protocol: the sync engine sits below the process's composition root
(`mikrosync.runtime.Runtime`), so it names what it uses and the Runtime satisfies it
structurally (mypy checks that wherever a Runtime is passed in).
"""

from __future__ import annotations

from typing import Protocol

from mikrosync.db.counters import RedisCounters
from mikrosync.db.session import SessionMaker
from mikrosync.routeros import RouterClient, RouterConfig
from mikrosync.routers.models import Router
from mikrosync.security.vault import Vault
from mikrosync.settings import Settings


class SyncContext(Protocol):
    @property
    def sessionmaker(self) -> SessionMaker: ...

    @property
    def vault(self) -> Vault: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def counters(self) -> RedisCounters:
        """The /metrics counters in Redis (`sync/counting.py`)."""
        ...

    def client(self, router: Router) -> RouterClient:
        """A client over the process's (or the run's) pool for `router`."""
        ...

    def router_config(self, router: Router) -> RouterConfig: ...

    def known_down(self, router_id: int) -> bool:
        """True while the router recently refused a connection (converges park at once)."""
        ...

    def mark_down(self, router_id: int) -> None: ...

    def mark_up(self, router_id: int) -> None: ...
