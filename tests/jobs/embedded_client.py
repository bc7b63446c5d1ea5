"""A second process on the embedded Redis: joins (or starts) the server of a data directory.

Prints one JSON line (url, pid, started_here), optionally pushes a subscriber job through
`JobQueue`, then stays (and so stays a client of the server) until its stdin closes.

    python embedded_client.py DATA_DIR [--push-subscriber ID]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from mikrosync.jobs import JobQueue, embedded_redis
from mikrosync.jobs.names import ADD_USER


async def push(url: str, subscriber_id: int) -> None:
    queue = JobQueue(url)
    try:
        await queue.push_subscriber(ADD_USER, subscriber_id)
    finally:
        await queue.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--push-subscriber", type=int)
    args = parser.parse_args()
    server = embedded_redis(args.data_dir)
    if args.push_subscriber is not None:
        asyncio.run(push(server.url, args.push_subscriber))
    info = {"url": server.url, "pid": server.pid, "started_here": server.started_here}
    print(json.dumps(info), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
