"""Every command the README shows works when run the way the README says to run it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
pytestmark = pytest.mark.slow

# CI runs Quick start's two commands itself, and `make lint`; `make test-fast` is this suite.
RUN_BY_CI = {"make sample", "make test", "make test-fast", "make lint"}


def bash_commands() -> list[tuple[str, int]]:
    """Each command of the README's bash blocks, continuation lines joined, with the exit code
    its comment promises (`# exits 1`; 0 when it says nothing)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            code, _, comment = command.partition("#")
            if code.strip():
                promised = re.search(r"exits (\d)", comment)
                commands.append((" ".join(code.split()), int(promised[1]) if promised else 0))
    return commands


def _usage(command: str) -> bool:
    """A synopsis with placeholders (`[--test test.csv]`), not a command to run."""
    return "[" in command


def test_the_commands_and_their_promised_exit_codes_are_read() -> None:
    commands = dict(bash_commands())
    assert RUN_BY_CI <= set(commands)
    assert commands["python samples/build.py fraud"] == 0
    fraud = [c for c in commands if c.startswith("auditor audit samples/build/fraud/")]
    assert (
        len(fraud) == 1
        and commands[fraud[0]] == 1
        and "--val samples/build/fraud/val.csv" in fraud[0]
    )


def test_commands_after_quick_start_work_in_the_activated_venv(tmp_path: Path) -> None:
    """`source .venv/bin/activate`, then each command, in a copy of the clone."""
    clone = tmp_path / "clone"
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    os.symlink(ROOT / ".venv", clone / ".venv")
    ran = 0
    for command, promised in bash_commands():
        if command in RUN_BY_CI or _usage(command):
            continue
        done = subprocess.run(
            ["bash", "-c", f"source .venv/bin/activate && {command}"],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == promised, (command, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stderr, command
        ran += 1
    assert ran >= 2
    assert (clone / "fraud-report" / "report.json").is_file()


def test_a_wheel_installs_in_a_fresh_venv_and_works_outside_the_clone(tmp_path: Path) -> None:
    """Gating a deployment in CI, steps 1 to 3: the wheel, `auditor init`, the rules commands,
    `auditor audit` on a sample, in a new virtual environment, from a folder outside the clone."""
    from test_samples import _build

    _build("healthy")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    dist = tmp_path / "dist"
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("keras_auditor-*.whl")
    installed = subprocess.run([*pip, "install", str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-2000:]
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)

    def auditor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["auditor", *args], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )

    assert auditor("init").returncode == 0
    assert (work / "auditor-rules.yaml").is_file()
    validated = auditor("rules", "validate", "auditor-rules.yaml")
    assert validated.returncode == 0, validated.stderr
    assert "OF01" in auditor("rules", "list").stdout
    assert "loss_gap" in auditor("rules", "explain", "of01").stdout
    sample = ROOT / "samples" / "build" / "healthy"
    audited = auditor(
        "audit",
        str(sample / "model.keras"),
        "--train",
        str(sample / "train.csv"),
        "--val",
        str(sample / "val.csv"),
        "--rules",
        "auditor-rules.yaml",
        "--out",
        "audit-report",
        "--no-progress",
    )
    assert audited.returncode == 0, audited.stderr
    assert audited.stderr == ""
    for name in ("report.json", "report.html", "report.pdf", "junit.xml", "summary.md"):
        assert (work / "audit-report" / name).is_file(), name
