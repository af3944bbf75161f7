"""Loading rule sets: the default set, `extends`, and one clear error per bad file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from auditor.errors import AuditorError, RuleConfigError
from auditor.rules.kinds import KINDS
from auditor.rules.loader import bundled_sets, load_rule_set

DEFAULT_IDS = [
    "OF01",
    "OF02",
    "OF03",
    "UF01",
    "UF02",
    "RC01",
    "RC02",
    "PR01",
    "CI01",
    "AP01",
    "CA01",
    "LK01",
    "LK06",
    "LK07",
    "LK02",
    "LK03",
    "LK04",
    "LK05",
    "DR01",
    "SV01",
    "TX01",
    "TX02",
    "TX03",
    "RG01",
    "RG02",
    "RG03",
]
KNOWN_KINDS = ", ".join(sorted(KINDS))
BUNDLED = ", ".join(bundled_sets())
RULE_KEYS = "enabled, example, id, kind, params, severity, summary, what_to_do, why"
TOP_KEYS = "description, disable, extends, name, rules, version, waivers"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(RuleConfigError) as caught:
        load_rule_set(path)
    return str(caught.value)


# ---- the default set -----------------------------------------------------------------------------


def test_default_set_loads() -> None:
    rules = load_rule_set()
    assert (rules.name, rules.version) == ("default", "1.0.0")
    assert rules.source == str(bundled_sets()["default"])
    assert [r.id for r in rules.rules] == DEFAULT_IDS
    assert rules.enabled == rules.rules
    for rule in rules.rules:
        assert rule.category == KINDS[rule.kind].category
        assert set(rule.params) == set(KINDS[rule.kind].params), rule.id  # defaults filled in
        assert rule.source == rules.source
    assert rules.get("OF01").params == {
        "split": "val",
        "max_gap": 0.15,
        "max_relative_gap": 0.5,
        "judge": "lower_bound",
        "confidence": 0.95,
    }
    assert rules.get("CI01").params == {"split": "train", "max_ratio": 10.0}
    assert rules.get("NOPE") is None


def test_default_set_by_name_and_by_path_are_the_same() -> None:
    by_path = load_rule_set(bundled_sets()["default"])
    assert load_rule_set("default") == load_rule_set(None) == by_path


def test_unknown_set_name() -> None:
    with pytest.raises(RuleConfigError) as caught:
        load_rule_set("nope")
    assert (
        str(caught.value) == f"nope: rule set not found (not a file, nor a bundled set: {BUNDLED})"
    )


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(RuleConfigError) as caught:
        load_rule_set(missing)
    assert (
        str(caught.value)
        == f"{missing}: rule set not found (not a file, nor a bundled set: {BUNDLED})"
    )


def test_rule_config_error_is_an_auditor_error() -> None:
    assert issubclass(RuleConfigError, AuditorError)


# ---- extends -------------------------------------------------------------------------------------

TEAM = """\
    name: team
    extends: default
    rules:
      - id: OF01
        params: {max_gap: 0.1}
      - id: OF02
        severity: error
      - id: CA01
        enabled: false
      - id: TT01
        kind: recall_floor
        severity: warning
        params: {min_recall: 0.8, classes: [fraud]}
        summary: Fraud recall below 0.8.
        why: Missed fraud costs money.
        what_to_do: Lower the decision threshold.
    disable: [RC02]
"""


def test_extends_default(tmp_path: Path) -> None:
    team = write(tmp_path / "team.yaml", TEAM)
    default = load_rule_set()
    rules = load_rule_set(team)
    assert (rules.name, rules.version, rules.source) == ("team", "1.0.0", str(team))
    assert [r.id for r in rules.rules] == [*DEFAULT_IDS, "TT01"]
    assert [r.id for r in rules.enabled] == [
        i for i in (*DEFAULT_IDS, "TT01") if i not in ("CA01", "RC02")
    ]

    of01 = rules.get("OF01")
    # params are merged key by key: the override changes max_gap and keeps the rest.
    assert of01.params == {
        "split": "val",
        "max_gap": 0.1,
        "max_relative_gap": 0.5,
        "judge": "lower_bound",
        "confidence": 0.95,
    }
    assert (of01.severity, of01.summary, of01.why, of01.what_to_do, of01.example) == (
        default.get("OF01").severity,
        default.get("OF01").summary,
        default.get("OF01").why,
        default.get("OF01").what_to_do,
        default.get("OF01").example,
    )
    assert of01.source == str(team)

    assert rules.get("OF02").severity == "error"
    assert rules.get("OF02").params == default.get("OF02").params
    assert rules.get("CA01").enabled is False
    assert rules.get("RC02").enabled is False
    assert rules.get("RC01") == default.get("RC01")  # untouched rules are inherited as they are

    tt01 = rules.get("TT01")
    assert tt01.params == {
        "split": "val",
        "min_recall": 0.8,
        "classes": ["fraud"],
        "judge": "point",
        "confidence": 0.95,
    }
    assert (tt01.kind, tt01.category, tt01.severity, tt01.example, tt01.enabled) == (
        "recall_floor",
        "recall_floor",
        "warning",
        "",
        True,
    )


def test_extends_can_disable_its_own_rule_and_keep_its_version(tmp_path: Path) -> None:
    team = write(
        tmp_path / "team.yaml",
        """\
        extends: default
        version: "2.1"
        rules:
          - id: TT01
            kind: calibration_error
            severity: info
            summary: s
            why: w
            what_to_do: d
        disable: [TT01, OF01]
        """,
    )
    rules = load_rule_set(team)
    assert (rules.name, rules.version) == ("team", "2.1")
    assert rules.get("TT01").enabled is False
    assert rules.get("OF01").enabled is False


def test_redefining_a_rule_with_another_kind_replaces_it(tmp_path: Path) -> None:
    team = write(
        tmp_path / "team.yaml",
        """\
        extends: default
        rules:
          - id: OF03
            kind: calibration_error
            severity: error
            params: {max_ece: 0.05}
            summary: s
            why: w
            what_to_do: d
        """,
    )
    of03 = load_rule_set(team).get("OF03")
    assert (of03.kind, of03.category, of03.params) == (
        "calibration_error",
        "calibration",
        {"split": "val", "max_ece": 0.05},
    )
    assert of03.example == ""


def test_extends_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "shared" / "base.yaml",
        """\
        extends: default
        version: "3.0"
        rules:
          - id: OF01
            params: {max_gap: 0.1}
        """,
    )
    team = write(
        tmp_path / "teams" / "team.yaml",
        """\
        extends: ../shared/base.yaml
        rules:
          - id: OF01
            params: {max_relative_gap: 0.3}
        """,
    )
    # The path is relative to the file that extends, not to the working directory.
    monkeypatch.chdir(write(tmp_path / "elsewhere" / "x", "").parent)
    rules = load_rule_set(team)
    assert (rules.name, rules.version) == ("team", "3.0")
    assert rules.get("OF01").params == {
        "split": "val",
        "max_gap": 0.1,
        "max_relative_gap": 0.3,
        "judge": "lower_bound",
        "confidence": 0.95,
    }
    assert rules.get("OF02") == load_rule_set().get("OF02")


def test_extends_cycle(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path / "b.yaml", "extends: a.yaml\n")
    chain = f"{a.resolve()} -> {b.resolve()} -> {a.resolve()}"
    assert config_error(a) == f"{a}: 'extends' forms a cycle ({chain})"


def test_extends_itself(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "extends: ./a.yaml\n")
    assert config_error(a) == f"{a}: 'extends' forms a cycle ({a.resolve()} -> {a.resolve()})"


def test_extends_nested_too_deep(tmp_path: Path) -> None:
    for i in range(10):
        write(tmp_path / f"r{i}.yaml", f"extends: r{i + 1}.yaml\n" if i < 9 else "rules: []\n")
    assert load_rule_set(tmp_path / "r1.yaml").name == "r1"  # r1 -> ... -> r9: 8 levels, allowed
    assert config_error(tmp_path / "r0.yaml") == (
        f"{tmp_path / 'r9.yaml'}: 'extends' is nested more than 8 deep"
    )


def test_unknown_extends(tmp_path: Path) -> None:
    team = write(tmp_path / "team.yaml", "extends: nope\n")
    message = config_error(team)
    assert f"nope: rule set not found (not a file, nor a bundled set: {BUNDLED})" in message


def test_unknown_extends_names_the_file(tmp_path: Path) -> None:
    team = write(tmp_path / "team.yaml", "extends: nope\n")
    assert config_error(team).startswith(f"{team}: ")


def test_error_in_the_extended_file_names_that_file(tmp_path: Path) -> None:
    base = write(
        tmp_path / "base.yaml",
        """\
        extends: default
        rules:
          - id: OF01
            params: {max_gap: high}
        """,
    )
    team = write(tmp_path / "team.yaml", "extends: base.yaml\n")
    assert (
        config_error(team) == f"{base}: rule OF01: params.max_gap must be a number >= 0, got 'high'"
    )


# ---- bad files: one RuleConfigError naming the file, the rule and the key -----------------------


def rule_text(**fields: str) -> str:
    """A valid loss_gap rule TT01 in YAML, with fields replaced (a value None drops the key)."""
    base = {
        "id": "TT01",
        "kind": "loss_gap",
        "severity": "error",
        "summary": "s",
        "why": "w",
        "what_to_do": "d",
    }
    base.update(fields)
    lines = [f"{key}: {value}" for key, value in base.items() if value is not None]
    return "rules:\n  - " + "\n    ".join(lines) + "\n"


BAD_FILES = [
    pytest.param(
        rule_text(kind="loss_gapp"),
        f"rule TT01: unknown kind 'loss_gapp' (known: {KNOWN_KINDS})",
        id="unknown-kind",
    ),
    pytest.param(
        rule_text(kind='"loss\\ngap"'),  # a line break in what the user wrote stays escaped
        f"rule TT01: unknown kind 'loss\\ngap' (known: {KNOWN_KINDS})",
        id="unknown-kind-with-a-line-break",
    ),
    pytest.param(
        rule_text(params="{max_gap: high}"),
        "rule TT01: params.max_gap must be a number >= 0, got 'high'",
        id="threshold-not-a-number",
    ),
    pytest.param(
        rule_text(params="{max_gap: true}"),
        "rule TT01: params.max_gap must be a number >= 0, got True",
        id="threshold-boolean",
    ),
    pytest.param(
        rule_text(params="{max_gap: .nan}"),
        "rule TT01: params.max_gap must be a number >= 0, got nan",
        id="threshold-nan",
    ),
    pytest.param(
        rule_text(params="{max_gap: -0.1}"),
        "rule TT01: params.max_gap must be a number >= 0, got -0.1",
        id="threshold-negative",
    ),
    pytest.param(
        rule_text(kind="metric_gap", params="{max_gap: 1.5}"),
        "rule TT01: params.max_gap must be a number in [0, 1], got 1.5",
        id="fraction-out-of-range",
    ),
    pytest.param(
        rule_text(kind="class_imbalance", params="{max_ratio: 0.5}"),
        "rule TT01: params.max_ratio must be a number >= 1, got 0.5",
        id="ratio-below-one",
    ),
    pytest.param(
        rule_text(params="{split: validation}"),
        "rule TT01: params.split must be one of train, val, test, got 'validation'",
        id="split-not-a-choice",
    ),
    pytest.param(
        rule_text(kind="metric_gap", params="{metric: loss}"),
        "rule TT01: params.metric must be one of "
        + ", ".join(KINDS["metric_gap"].params["metric"].choices or ())
        + ", got 'loss'",
        id="metric-not-a-choice",
    ),
    pytest.param(
        rule_text(kind="recall_floor", params="{min_recall: 0.5, classes: []}"),
        "rule TT01: params.classes must be 'all', 'positive' or a list of class names, got []",
        id="classes-empty",
    ),
    pytest.param(
        rule_text(kind="recall_floor"),
        "rule TT01: params.min_recall is required (lowest acceptable recall; a number in [0, 1])",
        id="required-param-missing",
    ),
    pytest.param(
        rule_text(params="{max_gapp: 0.1}"),
        "rule TT01: unknown parameter params.max_gapp "
        "(known: confidence, judge, max_gap, max_relative_gap, split)",
        id="unknown-param",
    ),
    pytest.param(
        rule_text(params="[[max_gap, 0.1]]"),
        "rule TT01: params must be a mapping, got [['max_gap', 0.1]]",
        id="params-not-a-mapping",
    ),
    pytest.param(
        rule_text() + rule_text().replace("rules:\n", ""),
        "rule TT01: duplicate id (each rule id may appear once per file)",
        id="duplicate-id",
    ),
    pytest.param(rule_text(why=None), "rule TT01: missing required key 'why'", id="missing-why"),
    pytest.param(
        rule_text(summary='""'), "rule TT01: summary must be a non-empty text", id="empty-summary"
    ),
    pytest.param(
        rule_text(what_to_do="[a, b]"),
        "rule TT01: what_to_do must be a non-empty text",
        id="what_to_do-not-text",
    ),
    pytest.param(
        rule_text(severity="fatal"),
        "rule TT01: severity must be one of info, warning, error, got 'fatal'",
        id="unknown-severity",
    ),
    pytest.param(
        rule_text(enabled='"no"'),
        "rule TT01: enabled must be true or false, got 'no'",
        id="enabled-not-boolean",
    ),
    pytest.param(
        rule_text(descripton="x"),
        f"rule TT01: unknown key 'descripton' (allowed: {RULE_KEYS})",
        id="unknown-rule-key",
    ),
    pytest.param(
        rule_text(id='"1 bad"'),
        "rules[0]: id must be a short name of letters, digits, '_', '.' or '-', got '1 bad'",
        id="bad-id",
    ),
    pytest.param(
        rule_text(id=None),
        "rules[0]: id must be a short name of letters, digits, '_', '.' or '-', got None",
        id="missing-id",
    ),
    pytest.param(
        "rules: [TT01]\n", "rules[0] must be a mapping with an 'id'", id="rule-not-a-mapping"
    ),
    pytest.param("rules: {id: TT01}\n", "'rules' must be a list of rules", id="rules-not-a-list"),
    pytest.param(
        "rule: []\n",
        f"unknown top-level key 'rule' (allowed: {TOP_KEYS})",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "- a\n- b\n", "a rule set must be a mapping with a 'rules' list", id="not-a-mapping"
    ),
    pytest.param("disable: [OF01]\n", "disable: unknown rule id 'OF01'", id="disable-unknown-id"),
    pytest.param(
        "disable: OF01\n", "'disable' must be a list of rule ids", id="disable-not-a-list"
    ),
    pytest.param(
        "extends: [default]\n",
        "extends must be a bundled set name or a path, got ['default']",
        id="extends-not-a-string",
    ),
    pytest.param(
        "rules: [\n",
        "not valid YAML at line 2 (expected the node content, but found '<stream end>')",
        id="invalid-yaml-unclosed",
    ),
    pytest.param(
        "rules:\n\t- id: TT01\n",
        "not valid YAML at line 2 (found character '\\t' that cannot start any token)",
        id="invalid-yaml-tab",
    ),
    pytest.param(
        "extends: default\nrules:\n  - id: OF01\n    params: {max_gap: high}\n",
        "rule OF01: params.max_gap must be a number >= 0, got 'high'",
        id="override-bad-param",
    ),
    pytest.param(
        "extends: default\nrules:\n  - id: OF01\n    params: {max_ece: 0.1}\n",
        "rule OF01: unknown parameter params.max_ece "
        "(known: confidence, judge, max_gap, max_relative_gap, split)",
        id="override-param-of-another-kind",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BAD_FILES)
def test_bad_file(tmp_path: Path, text: str, problem: str) -> None:
    team = write(tmp_path / "team.yaml", text)
    assert config_error(team) == f"{team}: {problem}"


def test_redefining_with_another_kind_needs_every_key(tmp_path: Path) -> None:
    team = write(
        tmp_path / "team.yaml",
        "extends: default\nrules:\n  - id: OF03\n    kind: calibration_error\n",
    )
    where = f"{team}: rule OF03"
    assert config_error(team) == "; ".join(
        f"{where}: missing required key '{key}'"
        for key in ("severity", "summary", "why", "what_to_do")
    )


def test_every_problem_of_a_file_in_one_message(tmp_path: Path) -> None:
    team = write(
        tmp_path / "team.yaml",
        """\
        extends: default
        owner: ml-team
        rules:
          - id: TT01
            kind: loss_gap
            severity: fatal
            params: {max_gap: high, max_relative_gap: 0.2}
            summary: ""
            why: w
            what_to_do: d
            note: x
          - id: TT02
            kind: nope
            severity: error
            summary: s
            why: w
            what_to_do: d
          - id: TT01
          - id: OF01
            params: {max_gap: -1}
        disable: [XX99]
        """,
    )
    assert config_error(team) == "; ".join(
        [
            f"{team}: unknown top-level key 'owner' (allowed: {TOP_KEYS})",
            f"{team}: rule TT01: unknown key 'note' (allowed: {RULE_KEYS})",
            f"{team}: rule TT01: severity must be one of info, warning, error, got 'fatal'",
            f"{team}: rule TT01: summary must be a non-empty text",
            f"{team}: rule TT01: params.max_gap must be a number >= 0, got 'high'",
            f"{team}: rule TT02: unknown kind 'nope' (known: {KNOWN_KINDS})",
            f"{team}: rule TT01: duplicate id (each rule id may appear once per file)",
            f"{team}: rule OF01: params.max_gap must be a number >= 0, got -1",
            f"{team}: disable: unknown rule id 'XX99'",
        ]
    )


# ---- known library bugs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            rule_text(params="0.15"),
            "rule TT01: params must be a mapping, got 0.15",
            id="new-rule-number",
        ),
        pytest.param(
            rule_text(params="high"),
            "rule TT01: params must be a mapping, got 'high'",
            id="new-rule-text",
        ),
        pytest.param(
            rule_text(params="[1, 2]"),
            "rule TT01: params must be a mapping, got [1, 2]",
            id="new-rule-list",
        ),
        pytest.param(
            "extends: default\nrules:\n  - id: OF01\n    params: 0.15\n",
            "rule OF01: params must be a mapping, got 0.15",
            id="override-number",
        ),
    ],
)
def test_params_that_are_not_a_mapping(tmp_path: Path, text: str, problem: str) -> None:
    team = write(tmp_path / "team.yaml", text)
    assert config_error(team) == f"{team}: {problem}"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1: one\nowner: me\nrules: []\n", id="top-level"),
        pytest.param(rule_text(on="push", note="x"), id="rule"),
    ],
)
def test_non_string_unknown_keys(tmp_path: Path, text: str) -> None:
    team = write(tmp_path / "team.yaml", text)
    message = config_error(team)
    assert message.startswith(f"{team}: ")
    key = "unknown top-level key '1'" if text.startswith("1:") else "rule TT01: unknown key 'True'"
    assert key in message  # the non-string key itself is named, not just its string neighbour
