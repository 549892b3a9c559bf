"""Throwaway PostgreSQL and Redis servers on free loopback ports, for `make test` and `make bench`.

Nothing of the machine's own services is used: each run initialises its own cluster in a temporary
folder and starts its own Redis, so a bare machine works and two runs on one machine never meet.
The Debian packages are installed with apt when missing (as `make` does for Chromium).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(port: int, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} does not answer on 127.0.0.1:{port}")
        time.sleep(0.2)


def apt_install(*packages: str) -> None:
    print(f"testenv: installing {' '.join(packages)} with apt", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent


class PostgresCluster:
    """A cluster of our own: initdb in a temporary folder, trust auth on loopback, tuned for tests."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="gdpr-testenv-pg-"))
        self.port = free_port()
        self.bin = _postgres_bin()
        # PostgreSQL refuses to run as root: root runs it as the "postgres" user the package creates.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.directory, user="postgres")
        data = str(self.directory / "data")
        self._run(
            str(self.bin / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.directory / "postgres.log")
        self._run(str(self.bin / "pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start")
        wait_for(self.port, "PostgreSQL")

    def stop(self) -> None:
        data = self.directory / "data"
        if (data / "postmaster.pid").exists():
            stop = [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            subprocess.run(stop, stdout=subprocess.DEVNULL)
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisServer:
    """A Redis of our own that keeps nothing on disk."""

    def __init__(self) -> None:
        if not shutil.which("redis-server"):
            apt_install("redis-server")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for(self.port, "Redis")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
