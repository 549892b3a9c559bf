"""``make run`` (scripts/run.py) serves the login page on embedded defaults and Ctrl-C stops everything."""

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from tests.support.embedded import embedded_env, free_port

ROOT = Path(__file__).resolve().parent.parent


def descendants_using(var_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get("GDPR_PORTAL_VAR_DIR") == str(var_dir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_make_run_serves_the_login_page_and_ctrl_c_stops_web_worker_and_beat(tmp_path):
    port = free_port()
    var_dir = tmp_path / "var"
    env = embedded_env(var_dir)
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    run = subprocess.Popen(
        [sys.executable, "scripts/run.py", "--port", str(port), "--contacts", "4", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        page = None
        deadline = time.monotonic() + 120
        while page is None and time.monotonic() < deadline and run.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as response:
                    page = (response.status, response.read().decode())
            except OSError:
                time.sleep(0.5)
        assert page is not None, (tmp_path / "run.log").read_text()
        status, html = page
        assert status == 200
        assert "gdpr_portal" in html and 'name="password"' in html
        assert "Connexion" in html  # French by default

        # The worker and beat run beside the web server, and the demo data was seeded once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(descendants_using(var_dir)) < 4:
            time.sleep(0.5)
        commands = [" ".join(p.cmdline()) for p in descendants_using(var_dir)]
        assert any("runserver" in c for c in commands), commands
        assert any("celery" in c and " worker" in c for c in commands), commands
        assert any("celery" in c and " beat" in c for c in commands), commands
        assert (var_dir / ".demo-seeded").exists()
        banner = f"gdpr_portal is running: http://127.0.0.1:{port}/admin/"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and banner not in (tmp_path / "run.log").read_text():
            time.sleep(0.2)
        output = (tmp_path / "run.log").read_text()
        assert banner in output
        assert "rgpd" in output and "backoffice" in output
    finally:
        # Ctrl-C
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
        log.close()

    assert run.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and descendants_using(var_dir):
        time.sleep(0.2)
    assert descendants_using(var_dir) == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
