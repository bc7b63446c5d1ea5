"""A worker process for the multi-process tests: SyncWorker with a handler that records runs.

Every run appends JSON events (`start`, `end`) with the worker's tag, job id, name, subscriber,
attempt and wall time to the Redis list `<prefix>:probe:events`. A job sleeps `data["sleep"]`
seconds on its first run only (later runs of the same job id return at once), so a job whose
worker is killed mid-run finishes quickly when another worker recovers it. SIGTERM/SIGINT stop
the worker gracefully, as the `mikrosync worker` CLI does.

    python probe_worker.py REDIS_URL PREFIX TAG [--sleep S] [--concurrency N]
        [--lock-ms MS] [--stalled-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

from mikrosync.jobs import JobInfo, SyncWorker, redis_connection
from mikrosync.jobs.names import SUBSCRIBER_JOBS


def events_key(prefix: str) -> str:
    return f"{prefix}:probe:events"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("redis_url")
    parser.add_argument("prefix")
    parser.add_argument("tag")
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--lock-ms", type=int, default=1000)
    parser.add_argument("--stalled-ms", type=int, default=500)
    args = parser.parse_args()

    client = redis_connection(args.redis_url)

    async def record(event: str, info: JobInfo) -> None:
        entry = {
            "event": event,
            "worker": args.tag,
            "job": info.id,
            "name": info.name,
            "subscriber": info.data.get("subscriber_id"),
            "attempt": info.attempt,
            "t": time.time(),
        }
        await client.rpush(events_key(args.prefix), json.dumps(entry))

    async def handler(info: JobInfo) -> None:
        await record("start", info)
        runs = await client.incr(f"{args.prefix}:probe:runs:{info.id}")
        if runs == 1:
            await asyncio.sleep(float(info.data.get("sleep", args.sleep)))
        await record("end", info)

    names = [*SUBSCRIBER_JOBS, "probe"]
    worker = SyncWorker(
        args.redis_url,
        dict.fromkeys(names, handler),
        prefix=args.prefix,
        concurrency=args.concurrency,
        lock_duration_ms=args.lock_ms,
        stalled_interval_ms=args.stalled_ms,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await client.rpush(events_key(args.prefix), json.dumps({"event": "ready", "worker": args.tag}))
    try:
        await worker.run(stop)
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
