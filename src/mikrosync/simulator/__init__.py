"""RouterOS API simulator: a test and demo tool speaking the real wire protocol.

Product code never imports this package, and it imports nothing else from mikrosync.
Entry points: `SimConfig`, `SimRouter`, `testing.running_router`, and the
`mikrosync simulate-router` CLI command.
"""

from mikrosync.simulator.config import SimConfig
from mikrosync.simulator.server import SimRouter

__all__ = ["SimConfig", "SimRouter"]
