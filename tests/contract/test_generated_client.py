"""openapi-python-client (pinned in pyproject's `test` extra) generates a client from the
OpenAPI document with no warning; mypy (strict, and no Any in the flow) checks the client and
tests/contract/client_flow.py, which uses only that client; the flow then runs against a
live server (tests/contract/live_world.py) holding the API test world.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import app
from tests.contract.conftest import HERE, ROOT, missing

BIN = Path(sys.executable).parent
FLOW = HERE / "client_flow.py"
MYPY = """\
[mypy]
strict = True
mypy_path = {client}
cache_dir = {cache}
# The flow sees nothing untyped: every answer of the generated client is a real type.
[mypy-client_flow]
disallow_any_expr = True
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The live server, started first: it builds its world while the client is generated;
    its address, and the file its service account's API key is written to."""
    where = tmp_path_factory.mktemp("live")
    port = _free_port()
    log = (where / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.contract.live_world", str(where / "world.db"), str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        yield f"http://127.0.0.1:{port}", where / "api-key"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the live server at {url} did not answer in {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated project: its warnings fail the test."""
    generator = BIN / "openapi-python-client"
    if not generator.exists():
        missing(f"openapi-python-client is not installed ({generator}): pip install -e "
                "'.[test]'")
    where = tmp_path_factory.mktemp("client")
    document = where / "openapi.json"
    document.write_text(json.dumps(app.openapi(), ensure_ascii=False), encoding="utf-8")
    # Its post hooks run ruff, which is beside it.
    done = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--config",
         str(ROOT / "docs" / "api" / "openapi-python-client.yaml")],
        cwd=where, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "warning" not in said.lower(), said
    return where / "jifen-client"


def test_the_package_is_named_from_the_ascii_title(client_dir: Path) -> None:
    project = tomllib.loads((client_dir / "pyproject.toml").read_text(encoding="utf-8"))
    assert (project.get("project") or project["tool"]["poetry"])["name"] == "jifen-client"
    assert (client_dir / "jifen_client" / "api" / "entries" / "approve_entry.py").exists()
    # One enum class per named enum of the document, none made up from a field's or an
    # operation's name; no model named after an operation's path.
    named = {re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
             for name in app.openapi()["components"]["schemas"]}
    models = {p.stem: p.read_text(encoding="utf-8")
              for p in (client_dir / "jifen_client" / "models").glob("*.py")}
    enums = {stem for stem, text in models.items() if re.search(r"^class \w+\(.*Enum\)", text,
                                                                  re.MULTILINE)}
    assert {"entry_status", "export_format", "quarter_status", "notice_kind"} <= enums
    assert enums <= named, enums - named
    assert not [stem for stem in models if "api_v1" in stem]
    # Uploads are files, sent as files (not text): the photo and the imports.
    for upload in ("body_upload_photo", "body_import_members", "body_import_entries"):
        assert re.search(r"^    \w+: File$", models[upload], re.MULTILINE), models[upload]


def test_the_flow_uses_only_the_generated_client() -> None:
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(FLOW.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names}
    assert imported - set(sys.stdlib_module_names) == {"jifen_client"}, imported


def test_the_flow_and_the_client_type_check(client_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY.format(client=client_dir, cache=tmp_path / "cache"))
    flow = tmp_path / "client_flow.py"
    shutil.copy(FLOW, flow)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), str(flow),
         str(client_dir / "jifen_client")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_committee_flow_runs_against_a_live_server(client_dir: Path,
                                                      server: tuple[str, Path]) -> None:
    url, key_file = server
    _wait_until_up(url)
    done = subprocess.run(
        [sys.executable, str(FLOW), url, key_file.read_text(encoding="utf-8")],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(client_dir)})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("service account city-platform on organisation "), lines
    assert lines[-1] == "flow done", lines
    assert any(line.startswith("approved entry ") for line in lines), lines
    assert any(line.endswith("bytes of .xlsx") for line in lines), lines
