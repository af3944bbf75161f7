"""The wheel carries the templates and rule sets and works outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_wheel_works_outside_the_repository(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "auditor/_templates/report.html.j2",
        "auditor/_templates/report.css",
        "auditor/_rules/default.yaml",
        "auditor/report/report.schema.json",
    ):
        assert required in names, required
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import auditor, auditor.resources as r;"
        f"assert str(r.templates_dir()).startswith({str(site)!r}), r.templates_dir();"
        "assert (r.rules_dir() / 'default.yaml').exists()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)
    listed = subprocess.run(
        [sys.executable, "-m", "auditor", "rules", "list"],
        check=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "OF01" in listed.stdout and str(site) in listed.stdout
