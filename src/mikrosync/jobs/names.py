"""Queue and job names: the only place they are spelled.

The names are the seed system's (DESIGN §4), so a job list read from Redis means the same thing
to an operator who knew the Node.js version. Producers and the worker both import them from here,
so a typo is an import error, not a job that no handler ever picks up.
"""

from __future__ import annotations

from mikrosync.subscribers.models import Operation

SYNC_QUEUE = "mikrotik-sync"

# Subscriber jobs: all converge one subscriber; the name is the reason, shown in its timeline.
# They are the operations the domain records as intent, so the two lists can never drift apart.
ADD_USER = Operation.ADD_USER.value
UPDATE_USER_PACKAGE = Operation.UPDATE_USER_PACKAGE.value
DISCONNECT_USER = Operation.DISCONNECT_USER.value
CONNECT_USER = Operation.CONNECT_USER.value
REMOVE_USER = Operation.REMOVE_USER.value
UPDATE_USER = Operation.UPDATE_USER.value
RETRY = Operation.RETRY.value

SUBSCRIBER_JOBS = frozenset(operation.value for operation in Operation)

# Tenant, router and package jobs, most of them fired by job schedulers.
SCHEDULE_EXPIRED = "scheduleExpiredClientDisconnects"
PROCESS_EXPIRED = "processExpiredClientsForTenant"
RECONCILE_ROUTER = "reconcileRouter"
SYNC_PACKAGE = "syncPackage"
SWEEP_PENDING = "sweepPending"
CHECK_ROUTER_HEALTH = "checkRouterHealth"
SCHEDULE_RECONCILES = "scheduleRouterReconciles"


def subscriber_dedup_id(subscriber_id: int) -> str:
    """The deduplication id shared by every job of one subscriber.

    One id for all subscriber job names is what makes bullmq keep at most one active and one
    waiting job per subscriber, whatever the reason each was pushed for.
    """
    return f"subscriber-{subscriber_id}"


def router_dedup_id(router_id: int) -> str:
    """The deduplication id of the jobs that carry many subscribers of one router."""
    return f"router-{router_id}"


def expiry_job_id(tenant_id: int, epoch: int) -> str:
    """One delayed expiry job per tenant and instant: subscribers expiring together are handled
    by one run, and pushing the same instant again is a no-op."""
    return f"expire-{tenant_id}-{epoch}"


def tenant_expiry_dedup_id(tenant_id: int) -> str:
    return f"expiry-tenant-{tenant_id}"


def package_dedup_id(package_id: int) -> str:
    return f"package-{package_id}"


def reconcile_dedup_id(router_id: int) -> str:
    return f"reconcile-router-{router_id}"
