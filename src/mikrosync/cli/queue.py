"""`mikrosync queue status|pause|resume`: the `mikrotik-sync` queue from the shell.

`status` prints the jobs per state and whether the queue is paused (and how many ready jobs the
pause holds back), so a paused queue is never mistaken for a stuck one. `pause` stops every
worker from taking new jobs (running ones finish; pushes still land and wait); `resume` lets
them go on. Both work however the queue was paused (this command, Bull Board, Node BullMQ) and
print what they did. Exit codes: 0 done; 1 Redis is unavailable.
"""

from __future__ import annotations

import typer
from rich.console import Console

from mikrosync.cli.common import fail, run, settings_or_exit, with_runtime
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.names import SYNC_QUEUE
from mikrosync.jobs.producer import COUNT_STATES, QueueStatus
from mikrosync.runtime import Runtime

queue_app = typer.Typer(help="The mikrotik-sync job queue.", no_args_is_help=True)
out = Console(soft_wrap=True, highlight=False)


def _describe(status: QueueStatus) -> str:
    lines = [
        f"queue {SYNC_QUEUE}: "
        + (f"PAUSED ({status.held} job(s) held)" if status.paused else "running")
    ]
    lines += [f"  {state:<12}{status.counts.get(state, 0)}" for state in COUNT_STATES]
    return "\n".join(lines)


async def _status(runtime: Runtime) -> QueueStatus:
    try:
        return await runtime.queue.status()
    except QueueUnavailable as exc:
        raise fail(str(exc), code=1) from None


@queue_app.command("status")
def status() -> None:
    """Jobs per state, and whether the queue is paused."""
    out.print(_describe(run(with_runtime(settings_or_exit(), _status))))


async def _switch(runtime: Runtime, pause: bool) -> tuple[bool, QueueStatus]:
    try:
        changed = await (runtime.queue.pause() if pause else runtime.queue.resume())
        return changed, await runtime.queue.status()
    except QueueUnavailable as exc:
        raise fail(str(exc), code=1) from None


@queue_app.command("pause")
def pause() -> None:
    """Pause the queue for every worker: running jobs finish, no new job starts."""
    changed, now = run(with_runtime(settings_or_exit(), lambda rt: _switch(rt, True)))
    if changed:
        out.print(
            f"paused queue {SYNC_QUEUE}: workers take no new job; {now.held} job(s) held "
            "(`mikrosync queue resume` lets them run)"
        )
    else:
        out.print(f"queue {SYNC_QUEUE} was already paused ({now.held} job(s) held)")


@queue_app.command("resume")
def resume() -> None:
    """Resume a paused queue."""
    changed, now = run(with_runtime(settings_or_exit(), lambda rt: _switch(rt, False)))
    if changed:
        waiting = sum(now.counts.get(s, 0) for s in ("waiting", "prioritized", "paused"))
        out.print(f"resumed queue {SYNC_QUEUE}: workers take jobs again ({waiting} waiting)")
    else:
        out.print(f"queue {SYNC_QUEUE} was not paused; nothing to do")
