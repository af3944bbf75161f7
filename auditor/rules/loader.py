"""Loads a YAML rule set, resolves `extends`, and validates every rule against its kind."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import RuleConfigError
from auditor.resources import rules_dir
from auditor.rules.kinds import KINDS
from auditor.rules.types import Param, Rule, RuleSet, Waiver
from auditor.vocabulary import Severity

TOP_KEYS = {"name", "version", "description", "extends", "rules", "disable", "waivers"}
WAIVER_KEYS = {"rule", "reason", "expires", "classes", "features"}
RULE_KEYS = {
    "id",
    "kind",
    "severity",
    "params",
    "summary",
    "why",
    "what_to_do",
    "example",
    "enabled",
}
TEXT_KEYS = ("summary", "why", "what_to_do")
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MAX_DEPTH = 8


def _shown(key: Any) -> str:
    """Show a key from the file on one line: control characters escaped."""
    text = str(key)
    return text if text.isprintable() else repr(text)[1:-1]


def _quoted(key: Any) -> str:
    return f"'{_shown(key)}'"


def bundled_sets() -> dict[str, Path]:
    """Return the rule sets shipped with auditor, by name."""
    return {p.stem: p for p in sorted(rules_dir().glob("*.yaml"))}


def resolve(source: str | Path | None, relative_to: Path | None = None) -> Path:
    """Turn a rule-set reference (bundled name or path) into a file path."""
    if source is None:
        source = "default"
    text = str(source)
    bundled = bundled_sets()
    if text in bundled:
        return bundled[text]
    path = Path(text)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if not text.strip() or not path.is_file():
        known = ", ".join(bundled) or "none"
        raise RuleConfigError(
            f"{_shown(text)}: rule set not found (not a file, nor a bundled set: {known})"
        )
    return path


def load_rule_set(source: str | Path | None = None) -> RuleSet:
    """Load a rule set by bundled name or path; None loads the default set."""
    return _load(resolve(source), depth=0, seen=())


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RuleConfigError(f"{path}: not valid YAML{where} ({problem})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleConfigError(f"{path}: cannot read the rule set ({exc})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RuleConfigError(f"{path}: a rule set must be a mapping with a 'rules' list")
    return data


def _load(path: Path, depth: int, seen: tuple[Path, ...]) -> RuleSet:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise RuleConfigError(f"{path}: 'extends' forms a cycle ({chain})")
    if depth > MAX_DEPTH:
        raise RuleConfigError(f"{path}: 'extends' is nested more than {MAX_DEPTH} deep")
    data = _read_yaml(path)
    problems: list[str] = []
    for key in sorted(set(data) - TOP_KEYS, key=str):
        problems.append(
            f"{path}: unknown top-level key {_quoted(key)} (allowed: {', '.join(sorted(TOP_KEYS))})"
        )

    parent: RuleSet | None = None
    if data.get("extends") is not None:
        if not isinstance(data["extends"], str):
            problems.append(
                f"{path}: extends must be a bundled set name or a path, got {data['extends']!r}"
            )
        else:
            try:
                parent_path = resolve(data["extends"], path.parent)
            except RuleConfigError as exc:
                problems.append(f"{path}: extends: {exc}")
            else:
                parent = _load(parent_path, depth + 1, (*seen, resolved))

    rules: dict[str, Rule] = {r.id: r for r in parent.rules} if parent else {}
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        problems.append(f"{path}: 'rules' must be a list of rules")
        raw_rules = []
    declared: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule = _build_rule(path, index, raw, rules, declared, problems)
        if rule is not None:
            rules[rule.id] = rule

    disable = data.get("disable") or []
    if not isinstance(disable, list):
        problems.append(f"{path}: 'disable' must be a list of rule ids")
        disable = []
    for rule_id in disable:
        if str(rule_id) not in rules:
            problems.append(f"{path}: disable: unknown rule id {rule_id!r}")
        else:
            old = rules[str(rule_id)]
            rules[old.id] = Rule(**{**old.__dict__, "enabled": False})

    waivers = list(parent.waivers) if parent else []
    raw_waivers = data.get("waivers") or []
    if not isinstance(raw_waivers, list):
        problems.append(f"{path}: 'waivers' must be a list")
        raw_waivers = []
    for index, raw in enumerate(raw_waivers):
        waiver = _build_waiver(path, index, raw, rules, problems)
        if waiver is not None:
            waivers.append(waiver)

    if problems:
        raise RuleConfigError("; ".join(problems))
    name = str(data.get("name") or path.stem)
    version = str(data.get("version") or (parent.version if parent else "0"))
    return RuleSet(
        name=name,
        version=version,
        source=str(path),
        rules=tuple(rules.values()),
        waivers=tuple(waivers),
    )


def _build_waiver(
    path: Path, index: int, raw: Any, rules: Mapping[str, Rule], problems: list[str]
) -> Waiver | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: waivers[{index}] must be a mapping with 'rule' and 'reason'")
        return None
    rule_id = raw.get("rule")
    where = (
        f"{path}: waiver of {rule_id}" if isinstance(rule_id, str) else f"{path}: waivers[{index}]"
    )
    before = len(problems)
    for key in sorted(set(raw) - WAIVER_KEYS, key=str):
        allowed = ", ".join(sorted(WAIVER_KEYS))
        problems.append(f"{where}: unknown key {_quoted(key)} (allowed: {allowed})")
    if not isinstance(rule_id, str) or rule_id not in rules:
        problems.append(f"{where}: 'rule' must name a rule of the set, got {rule_id!r}")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        problems.append(f"{where}: 'reason' is required: say why the failure is accepted")
    expires = raw.get("expires")
    if isinstance(expires, datetime):
        expires = expires.date()  # YAML reads "2030-01-01 10:00" as a timestamp; the day counts
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            expires = "bad"
    if expires is not None and not isinstance(expires, date):
        problems.append(
            f"{where}: 'expires' must be a date like 2027-03-31, got {raw.get('expires')!r}"
        )
    lists = {}
    for key in ("classes", "features"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            problems.append(f"{where}: '{key}' must be a list of names")
            value = []
        lists[key] = tuple(str(v) for v in value)
    if len(problems) > before:
        return None
    assert expires is None or isinstance(expires, date)  # anything else is a problem above
    return Waiver(
        rule=str(rule_id),
        reason=str(reason).strip(),
        expires=expires,
        classes=lists["classes"],
        features=lists["features"],
        source=str(path),
    )


def _build_rule(
    path: Path,
    index: int,
    raw: Any,
    inherited: Mapping[str, Rule],
    declared: set[str],
    problems: list[str],
) -> Rule | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: rules[{index}] must be a mapping with an 'id'")
        return None
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
        problems.append(
            f"{path}: rules[{index}]: id must be a short name of letters, digits, '_', '.' or '-', "
            f"got {rule_id!r}"
        )
        return None
    where = f"{path}: rule {rule_id}"
    if rule_id in declared:
        problems.append(f"{where}: duplicate id (each rule id may appear once per file)")
        return None
    declared.add(rule_id)
    for key in sorted(set(raw) - RULE_KEYS, key=str):
        allowed = ", ".join(sorted(RULE_KEYS))
        problems.append(f"{where}: unknown key {_quoted(key)} (allowed: {allowed})")

    before = len(problems)
    if raw.get("params") is not None and not isinstance(raw.get("params"), dict):
        problems.append(f"{where}: params must be a mapping, got {raw['params']!r}")
        return None
    base = inherited.get(rule_id)
    if base is not None and ("kind" not in raw or raw["kind"] == base.kind):
        fields = {**base.__dict__}
        params = {**base.params, **(raw.get("params") or {})}
    else:
        fields = {"id": rule_id, "example": "", "enabled": True}
        params = dict(raw.get("params") or {})
        if "kind" in raw and str(raw["kind"]) not in KINDS:  # what matters most, said first
            known = ", ".join(sorted(KINDS))
            problems.append(f"{where}: unknown kind '{raw['kind']}' (known: {known})")
            return None
        for key in ("kind", "severity", *TEXT_KEYS):
            if key not in raw:
                problems.append(f"{where}: missing required key '{key}'")
    for key in ("kind", "severity", *TEXT_KEYS, "example", "enabled"):
        if key in raw:
            fields[key] = raw[key]
    if len(problems) > before:
        return None

    kind = KINDS.get(str(fields["kind"]))
    if kind is None:
        problems.append(
            f"{where}: unknown kind '{fields['kind']}' (known: {', '.join(sorted(KINDS))})"
        )
        return None
    if fields["severity"] not in Severity.values():
        problems.append(
            f"{where}: severity must be one of {', '.join(Severity.values())}, "
            f"got {fields['severity']!r}"
        )
    if not isinstance(fields["enabled"], bool):
        problems.append(f"{where}: enabled must be true or false, got {fields['enabled']!r}")
    for key in TEXT_KEYS:
        if not isinstance(fields[key], str) or not fields[key].strip():
            problems.append(f"{where}: {key} must be a non-empty text")
    checked = _check_params(where, params, kind.params, problems)
    if len(problems) > before:
        return None
    fields.update(
        severity=Severity(fields["severity"]),
        params=checked,
        category=kind.category,
        source=str(path),
    )
    return Rule(**fields)


def _check_params(
    where: str, params: Mapping[str, Any], spec: Mapping[str, Param], problems: list[str]
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key in sorted(set(params) - set(spec), key=str):
        problems.append(
            f"{where}: unknown parameter params.{_shown(key)} (known: {', '.join(sorted(spec))})"
        )
    for key, param in spec.items():
        if key not in params:
            if param.required:
                problems.append(
                    f"{where}: params.{key} is required ({param.help}; {param.describe()})"
                )
            else:
                checked[key] = param.default
            continue
        value = params[key]
        ok, converted = _convert(value, param)
        if not ok:
            problems.append(f"{where}: params.{key} must be {param.describe()}, got {value!r}")
        else:
            checked[key] = converted
    return checked


def _convert(value: Any, param: Param) -> tuple[bool, Any]:
    if param.type in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, None
        if param.type == "integer" and not float(value).is_integer():
            return False, None
        if value != value:  # NaN
            return False, None
        if param.minimum is not None and value < param.minimum:
            return False, None
        if param.maximum is not None and value > param.maximum:
            return False, None
        return True, int(value) if param.type == "integer" else float(value)
    if param.type == "bool":
        return (True, value) if isinstance(value, bool) else (False, None)
    if param.type == "classes":
        if value in ("all", "positive"):
            return True, value
        if isinstance(value, list) and value and all(isinstance(v, (str, int)) for v in value):
            return True, [str(v) for v in value]
        return False, None
    if param.type == "columns":
        if isinstance(value, str) and value:
            return True, [value]
        if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
            return True, list(value)
        return False, None
    if not isinstance(value, str):
        return False, None
    if param.choices and value not in param.choices:
        return False, None
    return True, value
