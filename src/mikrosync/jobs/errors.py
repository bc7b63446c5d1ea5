"""The one error the queue layer raises to its callers."""

from __future__ import annotations

from mikrosync.errors import MikrosyncError


class QueueUnavailable(MikrosyncError):
    """Redis could not be reached (or did not answer) within the push timeout.

    A push is a hint, not the record of intent (DESIGN §1.3): callers commit first, catch this,
    log it and carry on; the sweeper pushes the pending row later.
    """
