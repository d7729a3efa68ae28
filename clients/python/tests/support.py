"""A real Granary server for the tests: ``npx tsx src/main.ts serve`` on a temporary data directory
and a free port, started once per test process and stopped at exit. With ``GRANARY_TEST_URL`` and
``GRANARY_TEST_ADMIN_KEY`` set, that server is used instead. Each test class makes a project of
its own (``new_project``), so nothing a test writes is seen by another."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from typing import Any

import granary

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# Every temporary file and folder of the tests (model folders, downloads, the server's data
# directory) goes under one folder, removed at exit.
tempfile.tempdir = tempfile.mkdtemp(prefix="granary-python-tests-")
atexit.register(shutil.rmtree, tempfile.tempdir, True)

_server: tuple[str, str] | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start() -> tuple[str, str]:
    data_dir = tempfile.mkdtemp(prefix="server-")
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "GRANARY_DATA_DIR": data_dir,
        "GRANARY_CONSOLE": "false",
        "LOG_LEVEL": "warn",
    }
    for name in ("DATABASE_URL", "ONLINE_STORE_URL", "PUBSUB_URL", "STREAM_URL"):
        env.pop(name, None)
    log = open(os.path.join(data_dir, "server.log"), "wb")  # noqa: SIM115 (closed at exit)
    # A process group of its own: npx and tsx do not pass SIGTERM on to the server they start.
    process = subprocess.Popen(["npx", "tsx", "src/main.ts", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                # The group may outlive its leader for a moment: make sure no member is left.
                os.killpg(process.pid, 0)
                time.sleep(0.2)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)

    atexit.register(stop)
    url = f"http://127.0.0.1:{port}"
    key_file = os.path.join(data_dir, "admin.key")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(os.path.join(data_dir, "server.log"), encoding="utf-8", errors="replace") as handle:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{handle.read()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200 and os.path.exists(key_file):
                    with open(key_file, encoding="utf-8") as handle:
                        key = handle.read().strip()
                    if key:
                        return url, key
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz within 90 s")


def server() -> tuple[str, str]:
    """``(url, admin key)`` of the test server (started on first use)."""
    global _server
    if _server is None:
        url, key = os.environ.get("GRANARY_TEST_URL"), os.environ.get("GRANARY_TEST_ADMIN_KEY")
        _server = (url, key) if url and key else _start()
    return _server


def new_project(prefix: str = "py") -> tuple[str, str]:
    """``(url, ADMIN key)`` of a new project of its own."""
    url, admin = server()
    conn = granary.Connection(url, admin)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn.mutate(
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { __typename ... on Error { message } } }",
        "createProject",
        {"i": {"name": name}},
    )
    created = conn.mutate(
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { __typename ... on Error { message } ... on CreateApiKeyPayload { secret } } }",
        "createApiKey",
        {"i": {"name": "tests", "scopes": ["ADMIN"], "project": name}},
    )
    return url, created["secret"]


def login(prefix: str = "py") -> granary.Project:
    """A project of its own, logged in."""
    url, key = new_project(prefix)
    return granary.login(host=url, api_key=key)


def create_tag_schema(project: granary.Project, name: str, schema: dict[str, Any]) -> None:
    project.connection.mutate(
        "mutation($n: String!, $s: JSON!) { createTagSchema(name: $n, schema: $s) { __typename ... on Error { message } } }",
        "createTagSchema",
        {"n": name, "s": json.loads(json.dumps(schema))},
    )
