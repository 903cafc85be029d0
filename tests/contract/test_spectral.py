"""Spectral (npm @stoplight/spectral-cli, pinned in .ci/node) lints the OpenAPI document with
the spectral:oas rules (.spectral.yaml): no error, no warning, no hint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.main import app
from tests.contract.conftest import ROOT, missing

SPECTRAL = ROOT / ".ci" / ".node" / "node_modules" / ".bin" / "spectral"


def test_the_document_lints_clean(tmp_path: Path) -> None:
    if not SPECTRAL.exists():
        missing(f"Spectral is not installed ({SPECTRAL}): run bash .ci/node-tools")
    document, report = tmp_path / "openapi.json", tmp_path / "spectral.json"
    document.write_text(json.dumps(app.openapi(), ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [str(SPECTRAL), "lint", "--ruleset", str(ROOT / ".spectral.yaml"), "--format", "json",
         "--output", str(report), "--fail-severity", "hint", str(document)],
        capture_output=True, text=True, timeout=120, check=False)
    if not report.exists():
        pytest.fail(f"spectral wrote no report (exit {done.returncode}): {done.stderr}")
    results = json.loads(report.read_text(encoding="utf-8"))
    said = [f"{r['code']} ({r['severity']}) at {'.'.join(map(str, r['path']))}: "
            f"{r['message']}" for r in results]
    assert not said, "\n".join(said)
    assert done.returncode == 0, done.stdout + done.stderr
