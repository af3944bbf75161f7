"""The GitHub Action (action.yml): its inputs and outputs match the CLI, and its steps run.

The shell steps are run here as the runner runs them: bash, each step's `env:` with its `${{ }}`
expressions filled in, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and the outputs of one step
read by the next. `uses:` steps (setup-python, upload-artifact) are GitHub's own and are skipped.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from auditor.cli import audit
from auditor.vocabulary import FAIL_ON

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
# Inputs that configure the action itself, not the audit.
ACTION_ONLY = {"python-version", "artifact-name", "args"}
# Inputs whose option has another name; every other input is the option `--<input>`.
OPTION_OF = {"model": "model", "formats": "--format"}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def cli_params() -> dict[str, click.Parameter]:
    return {opt: p for p in audit.params for opt in p.opts}


def step(name: str) -> dict:
    return next(s for s in STEPS if s.get("name") == name)


def test_the_action_is_composite_and_runs_its_shell_steps_in_bash():
    assert ACTION["runs"]["using"] == "composite"
    assert all(s.get("shell") == "bash" for s in STEPS if "run" in s)
    # Inputs reach the scripts through env only, never pasted into the script text.
    assert all(not EXPRESSION.search(s["run"]) for s in STEPS if "run" in s)


def test_inputs_are_the_clis_options_with_the_same_defaults():
    params = cli_params()
    for name, spec in ACTION["inputs"].items():
        if name in ACTION_ONLY:
            continue
        option = OPTION_OF.get(name, f"--{name}")
        assert option in params, f"input {name}: the CLI has no {option}"
        param = params[option]
        assert spec.get("required", False) == param.required, name
        if isinstance(param, click.Option) and param.is_flag:
            assert spec["default"] == "false", f"{name}: a flag is off unless asked for"
        elif isinstance(param.default, (str, int, float)):  # the option has a default: the same
            assert spec["default"] == str(param.default), name
        elif not param.required:  # no default: an empty input leaves the option out
            assert spec["default"] == "", name
    # The choices the description names are the CLI's.
    fail_on = params["--fail-on"]
    assert isinstance(fail_on.type, click.Choice)
    assert set(fail_on.type.choices) == set(FAIL_ON)
    assert all(level in ACTION["inputs"]["fail-on"]["description"] for level in FAIL_ON)


def test_every_audit_input_is_passed_to_auditor():
    audit_step = step("Audit the model")
    env = audit_step["env"]
    given = {EXPRESSION.fullmatch(v).group(1): k for k, v in env.items()}
    assert given["steps.install.outputs.auditor"] == "AUDITOR"  # the auditor just installed
    for name in ACTION["inputs"]:
        if name in ("python-version", "artifact-name"):
            continue
        variable = given.get(f"inputs.{name}")
        assert variable, f"input {name} does not reach the audit step"
        assert f"${variable}" in audit_step["run"] or f"${{{variable}" in audit_step["run"], name
        option = OPTION_OF.get(name, f"--{name}")
        if option.startswith("--") and name != "args":
            assert option in audit_step["run"], f"{option} is never passed"


def test_outputs_come_from_the_audit_step():
    run = step("Audit the model")["run"]
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.audit.outputs.{name} }}}}"
        assert f'echo "{name}=' in run, f"the audit step never writes {name}"
    upload = step("Upload the reports")
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["path"] == "${{ inputs.out }}"


def test_the_example_workflow_uses_the_action():
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["audit"]["steps"]
    gate = next(s for s in steps if s.get("id") == "gate")
    assert gate["uses"].endswith("auditor@v1") or gate["uses"] == "./"
    assert set(gate["with"]) <= set(ACTION["inputs"])
    assert {"model", "train", "val"} <= set(gate["with"])
    assert workflow["jobs"]["deploy"]["needs"] == "audit"
    outputs = workflow["jobs"]["audit"]["outputs"]
    assert outputs["verdict"] == "${{ steps.gate.outputs.verdict }}"


# ---- running the steps -----------------------------------------------------------------------


class Runner:
    """Runs the action's shell steps in order, as GitHub's runner does, and keeps what they left."""

    def __init__(self, tmp: Path, inputs: dict[str, str], path: str = "") -> None:
        self.tmp = tmp
        self.inputs = {
            name: str(inputs.get(name, spec.get("default", "")))
            for name, spec in ACTION["inputs"].items()
        }
        self.path = path
        self.outputs: dict[str, dict[str, str]] = {}
        self.summary = tmp / "summary"
        self.summary.write_text("")
        self.github_path = tmp / "github-path"
        self.github_path.write_text("")

    def value(self, text: str) -> str:
        def fill(match: re.Match) -> str:
            expression = match.group(1)
            if expression == "github.action_path":
                return str(ROOT)
            found = re.fullmatch(r"inputs\.([\w-]+)", expression)
            if found:
                return self.inputs[found.group(1)]
            found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
            if found:
                return self.outputs.get(found.group(1), {}).get(found.group(2), "")
            raise AssertionError(f"an expression the test cannot evaluate: {expression}")

        return EXPRESSION.sub(fill, text)

    def run(self, spec: dict) -> subprocess.CompletedProcess:
        output = self.tmp / f"output-{spec.get('id', 'step')}"
        output.write_text("")
        env = {
            **os.environ,
            "PATH": self.path or os.environ["PATH"],
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_PATH": str(self.github_path),
            "RUNNER_TEMP": str(self.tmp / "runner-temp"),
            **{key: self.value(str(v)) for key, v in spec.get("env", {}).items()},
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", spec["run"]],  # as GitHub
            env=env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if "id" in spec:
            lines = output.read_text().splitlines()
            self.outputs[spec["id"]] = dict(line.split("=", 1) for line in lines if "=" in line)
        return done

    def action_outputs(self) -> dict[str, str]:
        return {name: self.value(spec["value"]) for name, spec in ACTION["outputs"].items()}


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def recording_path(tmp: Path) -> Path:
    """A PATH folder whose sudo, apt-get, ldconfig and python3 only write down how they were run.

    `python3 -m venv DIR` makes DIR/bin/python, which writes down its arguments too.
    """
    folder = tmp / "bin"
    folder.mkdir()
    log = tmp / "calls"
    stub(folder, "sudo", '"$@"')
    stub(folder, "apt-get", f'echo "apt-get $*" >> {log}')
    stub(folder, "ldconfig", "true")  # no Pango on this pretend runner
    venv_python = f'#!/usr/bin/env bash\necho "venv-python $*" >> {log}\n'
    stub(
        folder,
        "python3",
        f'echo "python3 $*" >> {log}\n'
        f'mkdir -p "$3/bin" && printf %s \'{venv_python}\' > "$3/bin/python" '
        '&& chmod +x "$3/bin/python"',
    )
    return folder


@pytest.mark.parametrize(
    ("inputs", "apt", "pip"),
    [
        ({}, True, str(ROOT)),
        ({"formats": "json, pdf"}, True, str(ROOT)),
        ({"formats": "json,html,md"}, False, str(ROOT)),
        ({"formats": "json", "mlflow": "true"}, False, f"{ROOT}[mlflow]"),
    ],
)
def test_install_step_installs_pango_only_for_a_pdf(tmp_path, inputs, apt, pip):
    folder = recording_path(tmp_path)
    runner = Runner(tmp_path, {"model": "m", "train": "t", "val": "v", **inputs},
                    f"{folder}:{os.environ['PATH']}")  # fmt: skip
    done = runner.run(step("Install auditor"))
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    installs = [c for c in calls if c.startswith("apt-get install")]
    assert bool(installs) == apt
    if apt:
        assert "libpango-1.0-0" in installs[0] and "libpangoft2-1.0-0" in installs[0]
    venv = tmp_path / "runner-temp" / "auditor-venv"
    assert calls[-2:] == [f"python3 -m venv {venv}", f"venv-python -m pip install --quiet {pip}"]
    # The audit step runs the auditor installed, and later steps of the job find it on PATH.
    assert runner.outputs["install"] == {"auditor": f"{venv}/bin/auditor"}
    assert runner.github_path.read_text() == f"{venv}/bin\n"


def installed_auditor(tmp: Path) -> str:
    """An `auditor` that is this checkout's, run by this interpreter (as if pip-installed)."""
    folder = tmp / "venv" / "bin"
    folder.mkdir(parents=True)
    stub(folder, "auditor", f'exec "{sys.executable}" -m auditor "$@"')
    return str(folder / "auditor")


def run_action(tmp: Path, inputs: dict[str, str]) -> tuple[Runner, subprocess.CompletedProcess]:
    runner = Runner(tmp, inputs)
    runner.outputs["install"] = {"auditor": installed_auditor(tmp)}  # what the install step left
    done = runner.run(step("Audit the model"))
    assert done.returncode == 0, done.stderr  # the audit step records; the gate step decides
    return runner, runner.run(step("Gate"))


@pytest.mark.slow
def test_a_passing_model_passes_with_summary_outputs_and_reports(tmp_path, tiny_binary):
    runner, gate = run_action(
        tmp_path,
        {
            "model": str(tiny_binary.path("keras")),
            "train": str(tiny_binary.split("train")),
            "val": str(tiny_binary.split("val", "parquet")),
            "formats": "json,junit",  # md is added: the job summary needs it
            "out": "reports",
        },
    )
    assert gate.returncode == 0 and gate.stdout == "auditor: pass\n"
    outputs = runner.action_outputs()
    assert outputs == {"verdict": "pass", "report-path": "reports", "exit-code": "0"}
    written = {p.name for p in (tmp_path / "reports").iterdir()}
    assert written == {"report.json", "junit.xml", "summary.md"}
    assert runner.summary.read_text() == (tmp_path / "reports" / "summary.md").read_text()
    assert runner.summary.read_text().startswith("## ✅ auditor: PASS")


@pytest.mark.slow
def test_a_blocking_finding_fails_the_gate_step(tmp_path, tiny_binary):
    # The tiny model fails a warning-level rule: a gate at warning blocks on it.
    runner, gate = run_action(
        tmp_path,
        {
            "model": str(tiny_binary.path("keras")),
            "train": str(tiny_binary.split("train")),
            "val": str(tiny_binary.split("val")),
            "fail-on": "warning",
            "formats": "md",
            "args": "--threshold 0.5 --label label",
        },
    )
    assert runner.action_outputs()["verdict"] == "fail"
    assert gate.returncode == 1 and gate.stdout.startswith("::error title=auditor::the gate blocks")
    assert "## ❌ auditor: FAIL" in runner.summary.read_text()


def test_an_input_error_is_verdict_error_and_fails_with_its_exit_code(tmp_path):
    runner, gate = run_action(
        tmp_path,
        {"model": "missing $(touch pwned).keras", "train": "t.csv", "val": "v.csv"},
    )
    assert runner.action_outputs() == {
        "verdict": "error", "report-path": "audit-report", "exit-code": "2"
    }  # fmt: skip
    assert gate.returncode == 2 and "could not audit the model (exit 2)" in gate.stdout
    assert "exit 2" in runner.summary.read_text()
    assert not (tmp_path / "pwned").exists()  # an input is a string, never run
