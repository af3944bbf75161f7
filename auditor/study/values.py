"""The study's values: a setting, one retrained run, a setting over its seeds, the whole study."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The priorities a study can choose by (`--prefer`), and the run metric each one reads.
PREFER = {"loss": "val_loss", "recall": "recall", "precision": "precision", "f1": "f1"}
# Metrics summarized per setting (mean and spread over seeds); only val_loss is lower-is-better.
METRICS = ("train_loss", "val_loss", "val_accuracy", "precision", "recall", "f1")
LOWER_IS_BETTER = ("train_loss", "val_loss")


@dataclass(frozen=True)
class Setting:
    """One regularization setting of the studied layers.

    PENALTY is "control" (the model's own regularizers), "none", "l1", "l2" or "l1_l2"; STRENGTH
    is the coefficient of each penalty it names (0 for none, None for the control).
    """

    label: str
    penalty: str
    strength: float | None

    @property
    def control(self) -> bool:
        """Whether this is the model's current setting."""
        return self.penalty == "control"

    def kernel(self) -> tuple[float, float] | None:
        """Return (l1, l2) for the studied layers; None for the control (left as they are)."""
        if self.strength is None or self.control:
            return None
        s = self.strength
        return (s if "l1" in self.penalty else 0.0, s if "l2" in self.penalty else 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Return the setting as report.json holds it."""
        return {"label": self.label, "penalty": self.penalty, "strength": self.strength}


@dataclass(frozen=True)
class StudyRun:
    """One retrained clone at one setting and one seed, and how it did on the validation rows.

    PRECISION, RECALL and F1 are the positive class's (binary) or the macro means (multiclass);
    PER_CLASS holds every class's. NEAR_ZERO is each kernel's share of near-zero weights.
    """

    setting: str
    seed: int
    epochs: int
    seconds: float
    stopped_by_budget: bool
    train_loss: float
    val_loss: float
    val_accuracy: float
    precision: float
    recall: float
    f1: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    near_zero: dict[str, float]

    def value(self, metric: str) -> float:
        """Return the run's METRIC (one of `METRICS`)."""
        return float(getattr(self, metric))

    def to_dict(self) -> dict[str, Any]:
        """Return the run as report.json holds it."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SettingSummary:
    """A setting over its seeds: means, spreads (max - min), changes against the control.

    BETTER: its change on the preferred metric exceeds the control's seed spread (and its own), the
    right way.
    HARMFUL: its validation accuracy drops below the control's by more than the control's spread.
    """

    setting: Setting
    seeds: int
    mean: dict[str, float]
    spread: dict[str, float]
    delta: dict[str, float]
    near_zero: dict[str, float]
    better: bool
    harmful: bool
    regularization: float  # l1 + l2 summed over the studied layers: "more" or "less" than control

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as report.json holds it."""
        return {
            **self.setting.to_dict(),
            "control": self.setting.control,
            "seeds": self.seeds,
            "mean": self.mean,
            "spread": self.spread,
            "delta": self.delta,
            "near_zero": self.near_zero,
            "better": self.better,
            "harmful": self.harmful,
            "regularization": self.regularization,
        }


@dataclass(frozen=True)
class StudyResult:
    """The whole study: every run, every setting summarized, the choice and its trade-off.

    CHOSEN is the control's label when no setting beats it beyond the noise. DIRECTION says how
    the chosen setting's total strength compares with the control's: "more", "less", "same"
    (another penalty at the same total) or "none" (the control stays).
    """

    prefer: str
    seeds: int
    layers: tuple[str, ...]
    classes: tuple[str, ...]
    settings: tuple[SettingSummary, ...]
    runs: tuple[StudyRun, ...]
    chosen: str
    direction: str
    conclusion: str
    trade_off: str
    harmful: tuple[str, ...]
    noise: dict[str, float]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def control(self) -> SettingSummary:
        """The control's summary."""
        return next(s for s in self.settings if s.setting.control)

    @property
    def choice(self) -> SettingSummary:
        """The chosen setting's summary (the control's when nothing beats it)."""
        return next(s for s in self.settings if s.setting.label == self.chosen)

    def run(self, label: str, seed: int) -> StudyRun | None:
        """Return the run of setting LABEL at SEED, if it ran."""
        return next((r for r in self.runs if r.setting == label and r.seed == seed), None)

    def to_dict(self) -> dict[str, Any]:
        """Return the study as report.json holds it."""
        return {
            "prefer": self.prefer,
            "seeds": self.seeds,
            "layers": list(self.layers),
            "settings": [s.to_dict() for s in self.settings],
            "runs": [r.to_dict() for r in self.runs],
            "control": self.control.setting.label,
            "chosen": self.chosen,
            "direction": self.direction,
            "conclusion": self.conclusion,
            "trade_off": self.trade_off,
            "harmful": list(self.harmful),
            "noise": self.noise,
            "options": self.options,
        }
