"""A private SeaweedFS S3 gateway on free loopback ports, for tests and benchmarks.

The gateway is started like production runs it: with identities, so an unsigned or wrongly signed
request is refused (403) and only presigned URLs or signed calls get in.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

STATE_ENV = "SEAWEEDFS_STATE_FILE"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int) -> list[int]:
    """Ports p free together with p+10000 (SeaweedFS opens its gRPC port there)."""
    ports: list[int] = []
    while len(ports) < count:
        port = secrets.randbelow(15000) + 20000
        if port not in ports and _port_free(port) and _port_free(port + 10000):
            ports.append(port)
    return ports


@dataclass
class SeaweedFS:
    directory: str
    master_port: int
    volume_port: int
    filer_port: int
    s3_port: int
    access_key: str
    secret_key: str
    pid: int = 0

    @classmethod
    def create(cls, directory: Path) -> SeaweedFS:
        master, volume, filer, s3 = free_port_pairs(4)
        return cls(
            directory=str(directory),
            master_port=master,
            volume_port=volume,
            filer_port=filer,
            s3_port=s3,
            access_key="app" + secrets.token_hex(6),
            secret_key=secrets.token_hex(20),
        )

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}
            ),
        )

    def _command(self) -> list[str]:
        data = Path(self.directory)
        config = data / "s3.json"
        identities = {
            "identities": [
                {
                    "name": "app",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config.write_text(json.dumps(identities))
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        return [
            weed,
            "server",
            f"-dir={data / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.master_port}",
            "-master.volumeSizeLimitMB=1024",
            f"-volume.port={self.volume_port}",
            "-volume.max=100",
            "-filer",
            f"-filer.port={self.filer_port}",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={config}",
            # Off: they listen on fixed ports (8181, 9101), so two gateways on one machine would collide.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def start(self, timeout: float = 90) -> None:
        data = Path(self.directory)
        (data / "data").mkdir(parents=True, exist_ok=True)
        log = open(data / "weed.log", "ab")  # noqa: SIM115 - handed to the child process
        process = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = process.pid
        self.save_state()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        bucket = "readiness-" + secrets.token_hex(4)
        while True:
            try:
                client.create_bucket(Bucket=bucket)
                client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
                client.delete_object(Bucket=bucket, Key="probe")
                client.delete_bucket(Bucket=bucket)
                return
            except (BotoCoreError, ClientError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS did not become ready: {exc}") from exc
                time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a short grace: SeaweedFS takes over 10 s to stop on SIGTERM.

        Works whether this process started the gateway or another one did (the pid is in the state file).
        """
        if not self.pid:
            return
        for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _port_open(self.s3_port):
                time.sleep(0.1)
        with contextlib.suppress(ChildProcessError):  # not our child: its parent reaps it
            os.waitpid(self.pid, 0)
        self.pid = 0
        self.save_state()

    def save_state(self) -> None:
        Path(self.directory, "state.json").write_text(json.dumps(asdict(self)))

    @classmethod
    def from_state(cls, state_file: str | None = None) -> SeaweedFS:
        path = Path(state_file or os.environ[STATE_ENV])
        return cls(**json.loads(path.read_text()))

    def env(self, bucket: str) -> dict[str, str]:
        return {
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": "us-east-1",
            STATE_ENV: str(Path(self.directory, "state.json")),
        }


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
