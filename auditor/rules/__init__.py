"""The rules engine: YAML rule sets judged by pure kind functions."""

from auditor.rules.engine import blocking, run_rules
from auditor.rules.loader import bundled_sets, load_rule_set
from auditor.rules.types import Rule, RuleResult, RuleSet

__all__ = [
    "Rule",
    "RuleResult",
    "RuleSet",
    "blocking",
    "bundled_sets",
    "load_rule_set",
    "run_rules",
]
