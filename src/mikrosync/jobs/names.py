"""Queue and job names: the only place they are spelled.

The names are the seed system's (DESIGN §4), so a job list read from Redis means the same thing
to an operator who knew the Node.js version. Producers and the worker both import them from here,
so a typo is an import error, not a job that no handler ever picks up.
"""

from __future__ import annotations

SYNC_QUEUE = "mikrotik-sync"

# Subscriber jobs: all converge one subscriber; the name is the reason, shown in its timeline.
ADD_USER = "addUser"
UPDATE_USER_PACKAGE = "updateUserPackage"
DISCONNECT_USER = "disconnectUser"
CONNECT_USER = "connectUser"
REMOVE_USER = "removeUser"
UPDATE_USER = "updateUser"
RETRY = "retry"

SUBSCRIBER_JOBS = frozenset(
    {ADD_USER, UPDATE_USER_PACKAGE, DISCONNECT_USER, CONNECT_USER, REMOVE_USER, UPDATE_USER, RETRY}
)

# Tenant, router and package jobs, most of them fired by job schedulers.
SCHEDULE_EXPIRED = "scheduleExpiredClientDisconnects"
PROCESS_EXPIRED = "processExpiredClientsForTenant"
RECONCILE_ROUTER = "reconcileRouter"
SYNC_PACKAGE = "syncPackage"
SWEEP_PENDING = "sweepPending"
CHECK_ROUTER_HEALTH = "checkRouterHealth"


def subscriber_dedup_id(subscriber_id: int) -> str:
    """The deduplication id shared by every job of one subscriber.

    One id for all subscriber job names is what makes bullmq keep at most one active and one
    waiting job per subscriber, whatever the reason each was pushed for.
    """
    return f"subscriber-{subscriber_id}"
