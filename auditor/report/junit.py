"""Renders the rule results as JUnit XML: one test case per rule, so CI shows the audit as tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from auditor.vocabulary import Status

if TYPE_CHECKING:
    from auditor.result import AuditResult

_SKIPPED = (Status.NOT_APPLICABLE, Status.WAIVED)  # shown by CI as skipped tests


def render_junit(result: AuditResult) -> bytes:
    """Return junit.xml: one test case per rule, failing only where the gate blocks.

    A blocking failure is a <failure>, a blocking rule that could not judge an <error>; a failure
    below --fail-on passes with its message in <system-out> (CI tools would otherwise show a
    passing gate as failed tests); not applicable and waived rules are <skipped>.
    """
    results = result.results
    blocking = {id(r) for r in result.blocking}
    suite = ET.Element(
        "testsuite",
        name=f"auditor: {result.evaluation.model.name}",
        tests=str(len(results)),
        failures=str(sum(r.status == Status.FAILED and id(r) in blocking for r in results)),
        errors=str(sum(r.status == Status.ERROR and id(r) in blocking for r in results)),
        skipped=str(sum(r.status in _SKIPPED for r in results)),
        timestamp=result.created,
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", result.verdict),
        ("fail_on", result.fail_on),
        ("rule_set", f"{result.rule_set.name} {result.rule_set.version}"),
        ("model", result.evaluation.model.path),
        ("input_kind", result.evaluation.model.input_kind),
        ("engine", str((result.evaluation.engine or {}).get("name", "local"))),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"auditor.{r.rule.category}",
            name=f"{r.rule.id} {r.rule.summary}",
        )
        text = f"{r.message}\nWhy: {r.rule.why}\nWhat to do: {r.rule.what_to_do}"
        if r.status == Status.FAILED and id(r) in blocking:
            node = ET.SubElement(case, "failure", message=r.message, type=r.rule.severity)
            node.text = text
        elif r.status == Status.ERROR and id(r) in blocking:
            node = ET.SubElement(case, "error", message=r.message, type="rule_error")
            node.text = text
        elif r.status in _SKIPPED:
            ET.SubElement(case, "skipped", message=r.message)
        elif r.status in (Status.FAILED, Status.ERROR):  # below --fail-on: reported, not failing
            out = ET.SubElement(case, "system-out")
            gate = f"does not block at --fail-on {result.fail_on}"
            out.text = f"{r.rule.severity} ({r.status}; {gate}): {text}"
        else:
            out = ET.SubElement(case, "system-out")
            out.text = r.message
    root = ET.Element("testsuites", name="auditor")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
