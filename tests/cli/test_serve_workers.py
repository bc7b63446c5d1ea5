"""`mikrosync serve --workers N` (issue 14, capacity): N uvicorn worker processes behind one
port, on the embedded default (one SQLite file, one embedded Redis joined by every process)
and on PostgreSQL with the machine's Redis. What one process writes, every process reads."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mikrosync.cli.serve import default_workers
from mikrosync.cli.serve_workers import listening_sockets
from mikrosync.db import migrate
from tests.plugins.cli import run_in_process
from tests.plugins.core import (
    MIKROSYNC,
    TEST_REDIS_URL,
    TEST_SECRET_KEY,
    _create_postgres_database,
    _drop_postgres_database,
    delete_prefix,
    environ_without_settings,
    free_port,
)

PASSWORD = "Workers-pass-123"
WORKERS = 2


@pytest.fixture(params=["embedded", "postgresql"])
async def environment(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    clean = environ_without_settings()
    env = clean | {"MIKROSYNC_DATA_DIR": str(tmp_path / "data")}
    if request.param == "embedded":
        yield env
        return
    url = await _create_postgres_database()
    await asyncio.to_thread(migrate.upgrade, url)
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield env | {
        "MIKROSYNC_DATABASE_URL": url,
        "MIKROSYNC_REDIS_URL": TEST_REDIS_URL,
        "MIKROSYNC_QUEUE_PREFIX": prefix,
        "MIKROSYNC_SECRET_KEY": TEST_SECRET_KEY,
    }
    await _drop_postgres_database(url)
    await delete_prefix(prefix)


def _cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    """A set-up step, run in this process: what is under test is `serve`, started below."""
    settings = {key: value for key, value in env.items() if key.startswith("MIKROSYNC_")}
    done = run_in_process(cwd, *args, env=settings)
    assert done.returncode == 0, done.stderr


def _worker_processes(parent: int) -> list[int]:
    """The uvicorn worker processes of `parent` (spawned: `multiprocessing.spawn` children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


async def test_every_connection_of_the_listening_sockets_has_tcp_nodelay() -> None:
    """The worker processes' sockets are bound by us (`cli/serve_workers.py`), so that
    asyncio turns Nagle's algorithm off on each accepted connection: with uvicorn's own, every
    keep-alive request after the first waited ~45 ms for the client's delayed ACK."""
    listener, other = listening_sockets("127.0.0.1", 0, 2, backlog=16)
    other.close()
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            connection = transport.get_extra_info("socket")
            accepted.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        assert await asyncio.wait_for(accepted, 10) == 1
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_connections_are_spread_over_one_socket_per_process() -> None:
    """One socket per process on one port: the kernel hands each new connection to one of
    them (a shared socket let the first process to wake take a whole burst)."""
    sockets = listening_sockets("127.0.0.1", 0, 2, backlog=256)
    port = sockets[0].getsockname()[1]
    assert [sock.getsockname()[1] for sock in sockets] == [port, port]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    try:
        accepted = []
        for sock in sockets:
            sock.setblocking(False)
            count = 0
            with contextlib.suppress(BlockingIOError):
                while True:
                    sock.accept()[0].close()
                    count += 1
            accepted.append(count)
    finally:
        for client in clients + sockets:
            client.close()
    assert sum(accepted) == 200
    # A fair hash over 200 connections: 100 each, give or take (5 standard deviations ~ 35).
    assert min(accepted) >= 65, accepted


def test_a_port_already_listened_on_is_refused() -> None:
    """Even by another set of SO_REUSEPORT sockets (a `serve` left running), which would
    otherwise share the port with the new one without a word."""
    first = listening_sockets("127.0.0.1", 0, 2, backlog=16)
    try:
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", first[0].getsockname()[1], 2, backlog=16)
    finally:
        for sock in first:
            sock.close()


@pytest.mark.e2e  # tier (tests/plugins/tiers.py): runs `mikrosync serve`
def test_serve_says_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = environ_without_settings()
        done = subprocess.run(
            [*MIKROSYNC, "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env | {"MIKROSYNC_DATA_DIR": str(tmp_path / "data")},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_default_is_one_worker_per_core() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))


@pytest.mark.e2e  # tier (tests/plugins/tiers.py): runs `mikrosync serve` processes
@pytest.mark.timeout(300)
def test_serve_with_workers_shares_one_database_and_redis(
    environment: dict[str, str], tmp_path: Path
) -> None:
    env = environment
    _cli(env, tmp_path, "migrate")
    _cli(env, tmp_path, "tenant", "create", "acme", "--name", "Acme ISP")
    _cli(
        env, tmp_path, "user", "create", "--tenant", "acme", "--email", "ops@acme.test",
        "--role", "owner", "--password", PASSWORD,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [*MIKROSYNC, "serve", "--port", str(port), "--workers", str(WORKERS)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # two app imports on 2 shared cores
        while len(_worker_processes(server.pid)) < WORKERS or not _ready(base):
            assert server.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "workers not up"
            time.sleep(0.3)
        assert len(_worker_processes(server.pid)) == WORKERS
        # Each request on a new connection: the kernel spreads them over the workers' accepts.
        names = []
        for n in range(12):
            with httpx.Client(base_url=base, timeout=30) as http:
                token = http.post(
                    "/api/v1/auth/token", data={"username": "ops@acme.test", "password": PASSWORD}
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                body = {"name": f"r{n}", "host": "192.0.2.1", "username": "a", "password": "b"}
                created = http.post("/api/v1/routers", json=body, headers=headers)
                assert created.status_code == 201, created.text
                names.append(body["name"])
        with httpx.Client(base_url=base, timeout=30) as http:
            listed = http.get("/api/v1/routers", headers=headers).json()
        assert sorted(r["name"] for r in listed) == sorted(names)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
    assert f"{WORKERS} worker processes" in output, output


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
