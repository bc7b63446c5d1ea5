"""Node BullMQ, the library Bull Board is built on, looking at our queue from outside.

`tests/jobs/node/` holds a tiny Node program (`probe.js`) and its pinned dependencies
(`package.json`, `package-lock.json`). The first use installs them with `npm ci` into a cache
directory keyed by the lock file's hash (`$MIKROSYNC_TEST_NODE_CACHE`, default
`~/.cache/mikrosync-tests/node`), so a clean CI machine installs once and later runs reuse it.
Node and npm are required: `scripts/ensure-services.sh` installs them when missing, so a test
using this fails (it never skips) when they are absent.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "node"
FILES = ("package.json", "package-lock.json", "probe.js")


def _cache_root() -> Path:
    configured = os.environ.get("MIKROSYNC_TEST_NODE_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "mikrosync-tests" / "node"


def install() -> Path:
    """The directory holding probe.js with node_modules installed (installed on first use)."""
    digest = hashlib.sha256()
    for name in FILES:
        digest.update((HERE / name).read_bytes())
    target = _cache_root() / digest.hexdigest()[:16]
    marker = target / ".installed"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    # Two test processes (xdist, two checkouts) may install at once: one does, the other waits.
    with (target.parent / f"{target.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            for name in FILES:
                shutil.copyfile(HERE / name, target / name)
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("npm is not installed (scripts/ensure-services.sh installs it)")
            # --ignore-scripts: nothing from the registry runs at install time (bullmq's native
            # msgpack extension is optional; the pure JavaScript one is used without it).
            subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=target,
                check=True,
                timeout=300,
            )
            marker.touch()
    return target


async def node_bullmq(redis_url: str, prefix: str, queue: str, command: str) -> dict[str, Any]:
    """Run `probe.js` (workers | counts | pause | resume) and return its JSON answer."""
    where = await asyncio.to_thread(install)
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed (scripts/ensure-services.sh installs it)")
    process = await asyncio.create_subprocess_exec(
        node,
        str(where / "probe.js"),
        redis_url,
        prefix,
        queue,
        command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    if process.returncode != 0:
        raise AssertionError(f"node probe.js {command} failed: {err.decode(errors='replace')}")
    answer: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return answer
