"""API schemas for reconciliation runs (`sync/reconcile.py` stores them as ReconcileRun).

A page of runs carries summaries (counts, status, timing); the items and actions of one run,
which may hold hundreds of entries per kind, come with `GET .../reconcile-runs/{run_id}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field


class ReconcileRunSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    router_id: int
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    status: str
    """`running`, `succeeded`, `partial` (some repairs failed) or `failed` (not read)."""
    error: str | None
    counts: dict[str, int]
    """Drift found per kind: missing, different, orphan, unmanaged, profile_drift."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class ReconcileRunRead(ReconcileRunSummary):
    items: dict[str, list[dict[str, Any]]]
    """Per kind, up to 500 drifts (menu, name, detail, subscriber_id/package_id)."""
    actions: list[dict[str, Any]]
    """What the run did about them (action and result), up to 500 per kind."""


class ReconcileRunPage(BaseModel):
    items: list[ReconcileRunSummary]
    total: int
    page: int
    per_page: int
