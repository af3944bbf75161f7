"""Every bundled rule and every kind documents itself (sqlfluff's docstring test)."""

from __future__ import annotations

import inspect

import pytest

from auditor.rules.kinds import KINDS
from auditor.rules.loader import bundled_sets, load_rule_set
from auditor.vocabulary import Category, Severity

BUNDLED_RULES = [
    pytest.param(rule, id=f"{name}-{rule.id}")
    for name in bundled_sets()
    for rule in load_rule_set(name).rules
]


def test_bundled_sets_exist() -> None:
    assert "default" in bundled_sets()
    assert BUNDLED_RULES


@pytest.mark.parametrize("rule", BUNDLED_RULES)
def test_bundled_rule_documents_itself(rule) -> None:
    for field in ("summary", "why", "what_to_do", "example"):
        value = getattr(rule, field)
        assert isinstance(value, str) and value.strip(), f"{rule.id} has no {field}"
    assert rule.kind in KINDS
    # The loader hands out the vocabulary's members, not lookalike strings.
    assert isinstance(rule.category, Category) and rule.category == KINDS[rule.kind].category
    assert isinstance(rule.severity, Severity)


@pytest.mark.parametrize("name", bundled_sets())
def test_bundled_set_has_unique_ids_and_a_version(name: str) -> None:
    rules = load_rule_set(name)
    ids = [r.id for r in rules.rules]
    assert len(ids) == len(set(ids))
    assert rules.version and rules.version != "0"


@pytest.mark.parametrize("kind", KINDS)
def test_kind_documents_itself(kind: str) -> None:
    spec = KINDS[kind]
    assert isinstance(spec.category, Category)
    assert spec.summary.strip()
    assert (inspect.getdoc(spec.fn) or "").strip(), f"{spec.fn.__name__} has no docstring"


@pytest.mark.parametrize(
    ("kind", "key"), [(kind, key) for kind, spec in KINDS.items() for key in spec.params]
)
def test_param_has_help(kind: str, key: str) -> None:
    param = KINDS[kind].params[key]
    assert param.help.strip(), f"{kind}.params.{key} has no help text"
    assert param.describe()
    # A parameter either has a default or is required, never neither.
    assert param.required == (param.default is None)
