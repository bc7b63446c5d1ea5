"""The sync engine's fixtures (a simulated router registered through the API, the worker's
SyncContext), shared here because adoption talks to the router the same way."""

from tests.sync.conftest import deps, sim, world

__all__ = ["deps", "sim", "world"]
