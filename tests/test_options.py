"""One options value: defaults written once, checked once, shared by the command line and API."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest

from auditor import api, cli
from auditor.errors import AuditorError
from auditor.options import DEFAULT_BATCH_ROWS, AuditOptions

CLI_ONLY = {
    "model",
    "train",
    "val",
    "test",
    "out",
    "formats",
    "quiet",
    "verbose",
    "no_progress",
    "to_mlflow",
}


def test_checks_its_values_with_the_messages_users_know() -> None:
    with pytest.raises(AuditorError) as caught:
        AuditOptions(fail_on="sometimes")
    message = "fail_on must be one of info, warning, error, never, got 'sometimes'"
    assert str(caught.value) == message
    for threshold in (0.0, 1.0, 1.5):
        with pytest.raises(AuditorError) as caught:
            AuditOptions(threshold=threshold)
        assert str(caught.value) == f"threshold must be between 0 and 1, got {threshold}"
    with pytest.raises(AuditorError, match="fail_on"):
        dataclasses.replace(AuditOptions(), fail_on="always")  # replace checks again


def test_the_engine_settings_are_checked() -> None:
    for address in ("local", "auto", "ray://head:10001", "10.0.0.5:6379"):
        assert AuditOptions(engine="ray", ray_address=address).ray_address == address
    for address in ("", "head", "ray://head", "http://head:8265/"):
        with pytest.raises(AuditorError, match="ray_address must be local, auto, ray://HOST:PORT"):
            AuditOptions(ray_address=address)
    with pytest.raises(AuditorError, match="workers must be at least 1, got 0"):
        AuditOptions(workers=0)


def test_sequences_are_kept_as_tuples() -> None:
    options = AuditOptions(ignore=["id", "ts"], classes=["cat", "dog"])
    assert options.ignore == ("id", "ts") and options.classes == ("cat", "dog")
    assert AuditOptions().classes is None


def test_the_batch_default_is_the_readers() -> None:
    from auditor.loading.data import DEFAULT_BATCH_ROWS as READER_DEFAULT

    assert AuditOptions().batch_rows == DEFAULT_BATCH_ROWS == READER_DEFAULT


def test_importing_the_options_loads_nothing_heavy() -> None:
    code = (
        "import sys, auditor.options; "
        "print(sorted({'tensorflow', 'keras', 'pandas', 'pyarrow', 'numpy'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_command_line_options_are_the_fields_with_their_defaults() -> None:
    command = cli.main.commands["audit"]
    # What click hands the command when only the required arguments are given.
    context = command.make_context("audit", ["m.keras", "--train", "t.csv", "--val", "v.csv"])
    settings = {k: v for k, v in context.params.items() if k not in CLI_ONLY | {"debug"}}
    assert set(settings) == {f.name for f in dataclasses.fields(AuditOptions)}
    assert settings.pop("classes") is None  # a comma-separated string, split by the command
    assert AuditOptions(**settings) == AuditOptions()


def _captured(monkeypatch: pytest.MonkeyPatch) -> list[AuditOptions]:
    seen: list[AuditOptions] = []

    def fake(model: Any, splits: Any, options: AuditOptions, *rest: Any) -> tuple[Any, None]:
        seen.append(options)
        return "result", None

    monkeypatch.setattr(api, "_audit", fake)
    return seen


def test_the_api_takes_keywords_or_an_options_value(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _captured(monkeypatch)
    api.audit("model.keras", train="t.csv", val="v.csv", label="y", sweep=True)
    api.audit("model.keras", train="t.csv", val="v.csv", options=AuditOptions(label="y"), seed=3)
    given = AuditOptions(label="y")
    api.audit("model.keras", train="t.csv", val="v.csv", options=given)
    assert seen == [
        AuditOptions(label="y", sweep=True),
        AuditOptions(label="y", seed=3),  # keywords replace the options' values
        given,
    ]
    assert seen[2] is given


def test_an_unknown_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _captured(monkeypatch)
    with pytest.raises(TypeError, match=r"unknown setting\(s\) prepare; the settings are .*label"):
        api.audit("model.keras", train="t.csv", val="v.csv", prepare=("html",))
    with pytest.raises(AuditorError, match="threshold must be between 0 and 1, got 2"):
        api.audit("model.keras", train="t.csv", val="v.csv", threshold=2)


def test_the_package_exports_the_api_lazily() -> None:
    import auditor
    from auditor.result import AuditResult

    assert auditor.AuditOptions is AuditOptions and auditor.AuditResult is AuditResult
    assert api.AuditResult is AuditResult  # the old import path keeps working
    assert issubclass(auditor.AuditReport, AuditResult) and auditor.audit is api.audit
