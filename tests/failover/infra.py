"""The failover suite's own servers, on free ports in a directory of their own, never the
machine's shared PostgreSQL and Redis: a PostgreSQL cluster (`initdb` + `pg_ctl`) that is
restarted, and a Redis primary, a replica and three sentinels whose primary is SIGKILLed.

Debian's `redis-server`, `redis-sentinel` and PostgreSQL server binaries are used
(`scripts/ensure-services.sh` installs them). PostgreSQL refuses to run as root: as root, the
cluster is made and run as the `postgres` user, in a directory it owns.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio

from tests.chaos.infra import free_port

SERVICE = "mikrosync-failover"
REDIS_PASSWORD = "failover-redis-secret-7f3a"
"""The nodes' password: the URL carries it, and no log may show it."""


async def wait_for(
    check: Callable[[], Awaitable[bool]], *, timeout: float, what: str, poll: float = 0.1
) -> float:
    """Poll `check` until it is true; the seconds it took. AssertionError after `timeout`."""
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(poll)


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (scripts/ensure-services.sh)")
    return found[-1]


def _version(path: str) -> float:
    try:
        return float(path.split("/")[4])
    except ValueError:
        return 0.0


class PostgresServer:
    """A private PostgreSQL cluster: trust authentication on 127.0.0.1, one free port."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="mikrosync-failover-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = list(command)
        if self._user is not None:
            argv = ["runuser", "-u", self._user, "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self._run(
            postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c max_connections=200"
        )
        self._run(
            postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast`: the server ends every session and shuts down cleanly; `immediate`: it quits
        at once and the next start runs crash recovery."""
        self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed (scripts/ensure-services.sh installs it)")
    return found


def sentinel_command(config: Path) -> list[str]:
    """Debian's `redis-sentinel` (package redis-sentinel); without it, the same server binary
    in sentinel mode."""
    if shutil.which("redis-sentinel"):
        return [redis_binary("redis-sentinel"), str(config)]
    return [redis_binary("redis-server"), str(config), "--sentinel"]


class RedisNode:
    """One redis-server, nothing kept on disk; started again on the same port."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, replica_of: int | None = None) -> None:
        command = [
            redis_binary("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--maxmemory-policy", "noeviction",
            "--dir", str(self.directory),
            "--dbfilename", f"{self.name}.rdb",
            "--logfile", str(self.directory / f"{self.name}.log"),
            "--requirepass", REDIS_PASSWORD,
            "--masterauth", REDIS_PASSWORD,
        ]  # fmt: skip
        if replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis(
            host="127.0.0.1",
            port=self.port,
            password=REDIS_PASSWORD,
            socket_connect_timeout=0.5,
            socket_timeout=2,
        )

    async def info(self, section: str) -> dict[str, object]:
        client = self.client()
        try:
            found: dict[str, object] = await client.info(section)
            return found
        finally:
            await client.aclose()


class SentinelSet:
    """A Redis primary, one replica and three sentinels watching them (quorum 2)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.nodes = [RedisNode(directory, "redis-a"), RedisNode(directory, "redis-b")]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.url = (
            f"redis+sentinel://:{REDIS_PASSWORD}@"
            + ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
            + f"/{SERVICE}/0"
        )

    async def start(self) -> None:
        primary, replica = self.nodes
        primary.start()
        await wait_for(lambda: self._answers(primary), timeout=10, what="the Redis primary")
        replica.start(replica_of=primary.port)
        await wait_for(lambda: self._in_sync(replica), timeout=20, what="the Redis replica")
        for index, port in enumerate(self.sentinel_ports):
            config = self.directory / f"sentinel-{index}.conf"
            config.write_text(
                f"port {port}\n"
                "bind 127.0.0.1\n"
                f"dir {self.directory}\n"
                f"logfile {self.directory / f'sentinel-{index}.log'}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 2\n"
                f"sentinel auth-pass {SERVICE} {REDIS_PASSWORD}\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 3000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.sentinels.append(
                subprocess.Popen(sentinel_command(config), stdout=subprocess.DEVNULL)
            )
        await wait_for(self._sentinels_agree, timeout=30, what="the sentinels to see both nodes")

    async def _answers(self, node: RedisNode) -> bool:
        try:
            await node.info("server")
            return True
        except (OSError, redis.RedisError):
            return False

    async def _in_sync(self, node: RedisNode) -> bool:
        try:
            info = await node.info("replication")
        except (OSError, redis.RedisError):
            return False
        return info.get("role") == "slave" and info.get("master_link_status") == "up"

    async def _sentinel_view(self, port: int) -> tuple[int | None, list[dict[str, object]]]:
        client = redis.asyncio.Redis(
            host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=2,
            decode_responses=True,
        )  # fmt: skip
        try:
            address = await client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            replicas = await client.execute_command("SENTINEL", "REPLICAS", SERVICE)
        except (OSError, redis.RedisError):
            return None, []
        finally:
            await client.aclose()
        return (int(address[1]) if address else None), list(replicas)

    async def primary_port(self) -> int | None:
        """The primary's port if all three sentinels name the same one."""
        ports = {(await self._sentinel_view(port))[0] for port in self.sentinel_ports}
        return ports.pop() if len(ports) == 1 else None

    async def _sentinels_agree(self) -> bool:
        """All sentinels name one primary, that node says it is one, and every sentinel
        knows the other node as a healthy replica (so it can be promoted next)."""
        primary = await self.primary_port()
        if primary is None:
            return False
        node = next((n for n in self.nodes if n.port == primary), None)
        other = next((n for n in self.nodes if n.port != primary), None)
        if node is None or other is None:
            return False
        try:
            if (await node.info("replication")).get("role") != "master":
                return False
        except (OSError, redis.RedisError):
            return False
        if not await self._in_sync(other):
            return False
        for port in self.sentinel_ports:
            _, replicas = await self._sentinel_view(port)
            healthy = [
                r
                for r in replicas
                if int(str(r.get("port"))) == other.port
                and "down" not in str(r.get("flags"))
                and "disconnected" not in str(r.get("flags"))
                and r.get("master-link-status") == "ok"
            ]
            if not healthy:
                return False
        return True

    async def kill_primary(self) -> tuple[RedisNode, float]:
        """SIGKILL the primary and wait for the sentinels to promote the replica; the killed
        node and the seconds until the promotion."""
        started = time.monotonic()
        old = await self.primary_port()
        victim = next(n for n in self.nodes if n.port == old)
        survivor = next(n for n in self.nodes if n.port != old)
        victim.kill()

        async def promoted() -> bool:
            if await self.primary_port() != survivor.port:
                return False
            try:
                return (await survivor.info("replication")).get("role") == "master"
            except (OSError, redis.RedisError):
                return False

        await wait_for(promoted, timeout=60, what="a sentinel failover", poll=0.05)
        return victim, time.monotonic() - started

    async def rejoin(self, node: RedisNode) -> float:
        """Start a killed node as the primary's replica (as a restarted server that the
        sentinels reconfigure would be); the seconds until every sentinel sees it healthy."""
        started = time.monotonic()
        primary = await self.primary_port()
        assert primary is not None and primary != node.port
        node.start(replica_of=primary)
        await wait_for(self._sentinels_agree, timeout=60, what="the old primary to rejoin")
        return time.monotonic() - started

    def stop(self) -> None:
        for process in self.sentinels:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        for node in self.nodes:
            node.kill()
