"""The process's composition root (see `container.py`)."""

from mikrosync.runtime.container import Runtime

__all__ = ["Runtime"]
