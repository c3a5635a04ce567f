"""Real nginx for the tests: deploy/nginx.conf.example, run as a foreground process of its own.

`Nginx(folder, upstream_port)` renders the example into `folder` with only what a test must
change (its ports, its own pid, log and temporary files, and the `user` line) and runs Debian's
`nginx` binary with `daemon off`. Every swap names the exact text it replaces, so an example that
no longer has it fails the test instead of being tested half-changed. Without the binary the tests
skip, except in CI (`CI=true`), where .ci/run installs it and a missing nginx fails. Not a test
module itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf.example"
IN_CI = os.environ.get("CI") == "true"
PREFIX = "/sporsmal"


def binary() -> str | None:
    """Debian's nginx: on PATH, or in /usr/sbin (not on a non-root PATH)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def need_nginx() -> str:
    """The nginx binary; skip without it on a developer's machine, fail in CI."""
    found = binary()
    if found is None:
        if IN_CI:
            pytest.fail("nginx is missing; .ci/run should have installed it (apt-get install nginx)")
        pytest.skip("nginx is missing (apt-get install nginx)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf.example no longer has exactly one {old!r}"
    return text.replace(old, new)


def render(folder: Path, *, port: int, upstream_port: int) -> Path:
    """The example as this test runs it, written to folder/nginx.conf."""
    text = EXAMPLE.read_text(encoding="utf-8")
    # As root, nginx's workers switch to `user`; www-data could not write the test's folder.
    text = _swap(text, "user www-data;", "user root;" if os.geteuid() == 0 else "")
    text = _swap(text, "error_log /var/log/nginx/error.log warn;", f"error_log {folder}/error.log warn;")
    text = _swap(text, "pid /run/nginx.pid;", f"pid {folder}/nginx.pid;")
    text = _swap(text, "access_log /var/log/nginx/access.log noquery;", f"access_log {folder}/access.log noquery;")
    text = _swap(text, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    text = _swap(text, "listen 80;", f"listen 127.0.0.1:{port};")
    temp = "".join(f"    {kind}_temp_path {folder}/{kind}_temp;\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = _swap(text, "http {\n", "http {\n" + temp)
    conf = folder / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


class Nginx:
    """nginx in the foreground on a free loopback port in front of 127.0.0.1:`upstream_port`."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = render(folder, port=self.port, upstream_port=upstream_port)
        self.process: subprocess.Popen | None = None

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> Nginx:
        nginx = need_nginx()
        check = subprocess.run([nginx, "-t", "-p", str(self.folder), "-c", str(self.conf), "-e", str(self.folder / "error.log")], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.folder), "-c", str(self.conf), "-e", str(self.folder / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"nginx exited: {self.log()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nginx did not start listening: {self.log()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown, workers included
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
