"""Child processes of a benchmark run: start with a log file, stop, and read their CPU time.

CPU time comes from /proc (Linux), so "where the CPU goes" can be split between the worker
processes, the API, the simulated routers and the PostgreSQL backends of this run's database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man proc).
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine spent busy so far, all CPUs and processes (/proc/stat:
    user, nice, system, irq, softirq, steal), to tell our parts from everyone else's load."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def postgres_backends(database: str) -> list[int]:
    """Pids of the PostgreSQL backends connected to `database` (their title names it)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read().replace(b"\x00", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            pids.append(int(entry))
    return pids


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a live process, in MiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Child:
    """A child process whose output goes to a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls, name: str, args: list[str], env: dict[str, str], log_dir: Path, cwd: Path
    ) -> Child:
        """`python ARGS` in `cwd`; stdout and stderr go to LOG_DIR/NAME.log."""
        log_path = log_dir / f"{name}.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=log, stderr=log, cwd=cwd
        )
        log.close()
        return cls(name, process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 40.0) -> int | None:
        """SIGTERM (workers finish their jobs), then SIGKILL after `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
