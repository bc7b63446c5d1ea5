"""Bringing existing subscribers in: a CSV import creates its rows `pending` (with their
`addUser` intents) and pushes their jobs, also those of the batches committed before an
interruption. (Router adoption takes logins over as already synced: nothing to push; the CLI
calls `mikrosync.onboarding.adopt` directly.)"""

from __future__ import annotations

from mikrosync.jobs.push import push_intents
from mikrosync.onboarding.csv_import import ImportInterrupted, ImportResult, Progress, import_csv
from mikrosync.runtime import Runtime


async def import_csv_file(
    runtime: Runtime,
    *,
    tenant_id: int,
    router_id: int,
    text: str,
    actor: str,
    dry_run: bool,
    progress: Progress | None = None,
) -> ImportResult:
    """Import `text`; raises CsvFileError (unreadable file) or ImportInterrupted (after
    pushing what was created)."""
    try:
        result = await import_csv(
            runtime.sessionmaker,
            tenant_id=tenant_id,
            router_id=router_id,
            text=text,
            vault=runtime.vault,
            actor=actor,
            dry_run=dry_run,
            progress=progress,
        )
    except ImportInterrupted as exc:
        await push_intents(runtime.queue, exc.created)
        raise
    await push_intents(runtime.queue, result.created)
    return result
