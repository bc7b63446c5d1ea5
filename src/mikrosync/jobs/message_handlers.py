"""The worker's message jobs: send one message; scan for reminders and push their jobs."""

from __future__ import annotations

from collections.abc import Mapping

from mikrosync.clock import now
from mikrosync.jobs.message_push import push, reminder_jobs
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.worker import Handler, JobInfo
from mikrosync.logs import log_context
from mikrosync.messages.delivery import deliver
from mikrosync.messages.jobs import SCHEDULE_REMINDERS, SEND_MESSAGE, MessageJob
from mikrosync.sync.context import SyncContext


def message_handlers(deps: SyncContext, queue: JobQueue) -> Mapping[str, Handler]:
    async def send(job: JobInfo) -> str:
        message = MessageJob.from_data(dict(job.data))
        with log_context(job_id=job.id, job=job.name, subscriber_id=message.subscriber_id):
            return await deliver(deps.sessionmaker, deps.vault, message)

    async def scan(_job: JobInfo) -> int:
        return await push(queue, await reminder_jobs(deps.sessionmaker, now()))

    return {SEND_MESSAGE: send, SCHEDULE_REMINDERS: scan}
