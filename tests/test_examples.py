"""The CI recipes in examples/ are valid and do what the README says."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_github_actions_workflow_gates_with_the_action():
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    steps = workflow["jobs"]["audit"]["steps"]
    gate = next(s for s in steps if s.get("id") == "gate")
    assert gate["uses"].endswith("/auditor@v1")
    # The action does what the hand-written recipe did: summary, artifact, exit 1 fails the job
    # (tests/test_action.py runs its steps).
    assert gate["with"]["baseline"] == "${{ steps.baseline.outputs.path }}"
    assert workflow["jobs"]["deploy"]["needs"] == "audit"


def test_gitlab_job_reports_junit():
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["model-gate"]
    assert job["artifacts"]["reports"]["junit"] == "audit-report/junit.xml"
    assert job["artifacts"]["when"] == "always"
    assert any("auditor audit" in line for line in job["script"])


def test_pre_merge_check_compares_with_the_deployed_report():
    text = (EXAMPLES / "pre-merge-check.sh").read_text()
    assert "--baseline" in text and "set -euo pipefail" in text
    assert 'auditor compare "$deployed_report" audit-report/report.json' in text


def test_the_kuberay_job_audits_on_its_cluster():
    job = yaml.safe_load((EXAMPLES / "kuberay-rayjob.yaml").read_text())
    assert job["kind"] == "RayJob"
    entrypoint = job["spec"]["entrypoint"]
    assert entrypoint.startswith("auditor audit ")
    assert "--engine ray --ray-address auto" in entrypoint and "s3://" in entrypoint
    assert job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] >= 1
