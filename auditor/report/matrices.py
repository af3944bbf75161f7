"""Two confusion matrices side by side (before and after, baseline and candidate), in words too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.numbers import significant

Matrix = Sequence[Sequence[int]]


def _rates(matrix: Matrix) -> list[list[float | None]]:
    """Each cell as a share of its true class (its row), None for a class without rows."""
    out = []
    for row in matrix:
        total = sum(row)
        out.append([cell / total if total else None for cell in row])
    return out


def side_by_side(
    classes: Sequence[str], before: Matrix, after: Matrix, names: tuple[str, str]
) -> dict[str, Any]:
    """Return what the template shows: both matrices' counts and rates, and their changes."""
    return {
        "classes": list(classes),
        "names": names,
        "before": {"counts": [list(r) for r in before], "rates": _rates(before)},
        "after": {"counts": [list(r) for r in after], "rates": _rates(after)},
        "changes": changes(classes, before, after, names),
    }


def _change(name: str, old: int, new: int) -> str:
    step = new - old
    sign = "−" if step < 0 else "+" if step > 0 else "±"
    return f"{name} {old:,} → {new:,} ({sign}{abs(step):,})"


def _word(step: int, fewer: str, more: str, same: str) -> str:
    return fewer if step < 0 else more if step > 0 else same


def changes(classes: Sequence[str], before: Matrix, after: Matrix, names: tuple[str, str]) -> str:
    """Spell out the errors' changes from BEFORE to AFTER.

    Binary (class 1 positive): "FP 20 → 15 (−5), FN 30 → 25 (−5): fewer false positives and fewer
    false negatives." Multiclass: all errors, and the classes that gained or lost most misses.
    """
    first, second = names
    if len(classes) == 2:
        fp0, fn0 = int(before[0][1]), int(before[1][0])
        fp1, fn1 = int(after[0][1]), int(after[1][0])
        fp = _word(fp1 - fp0, "fewer", "more", "as many")
        fn = _word(fn1 - fn0, "fewer", "more", "as many")
        return (
            f"From {first} to {second}: {_change('FP', fp0, fp1)}, {_change('FN', fn0, fn1)}: "
            f"{fp} false positives and {fn} false negatives."
        )
    k = len(classes)
    errors0 = sum(int(before[i][j]) for i in range(k) for j in range(k) if i != j)
    errors1 = sum(int(after[i][j]) for i in range(k) for j in range(k) if i != j)
    missed = [
        (
            sum(int(after[i][j]) for j in range(k) if j != i)
            - sum(int(before[i][j]) for j in range(k) if j != i),
            classes[i],
        )
        for i in range(k)
    ]
    moved = sorted((m for m in missed if m[0] != 0), key=lambda m: -abs(m[0]))[:3]
    detail = "; ".join(
        f"class {name} {'−' if step < 0 else '+'}{abs(step)} missed" for step, name in moved
    )
    return (
        f"From {first} to {second}: {_change('errors', errors0, errors1)}, "
        f"{_word(errors1 - errors0, 'fewer', 'more', 'as many')} misclassified rows"
        + (f" ({detail})." if detail else ".")
    )


def baseline_verdict(
    candidate: Mapping[str, Any], baseline: Mapping[str, Any], positive: bool
) -> str:
    """Judge the candidate against the baseline on validation data, in the course note's terms.

    Better when validation loss comes down and validation accuracy holds or improves; a drop in
    validation accuracy is a bad sign whatever the loss does. POSITIVE: the metrics hold the
    positive class's precision and recall (binary); otherwise their macro means are quoted.
    """

    def get(metrics: Mapping[str, Any], key: str) -> float | None:
        value = metrics.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    suffix = "" if positive else "_macro"
    loss, loss0 = get(candidate, "loss"), get(baseline, "loss")
    acc, acc0 = get(candidate, "accuracy"), get(baseline, "accuracy")
    if loss is None or loss0 is None or acc is None or acc0 is None:
        return "The baseline's validation loss or accuracy is missing: no verdict."
    p, p0 = get(candidate, f"precision{suffix}"), get(baseline, f"precision{suffix}")
    r, r0 = get(candidate, f"recall{suffix}"), get(baseline, f"recall{suffix}")
    facts = (
        f"validation loss {significant(loss)} vs {significant(loss0)}, "
        f"validation accuracy {significant(acc)} vs {significant(acc0)}"
    )
    if p is not None and p0 is not None and r is not None and r0 is not None:
        facts += (
            f", precision {significant(p)} vs {significant(p0)}, "
            f"recall {significant(r)} vs {significant(r0)}"
        )
    accuracy_holds = acc >= acc0 - 0.005
    if loss < loss0 and accuracy_holds:
        judged = "the candidate generalizes better than the baseline"
    elif acc < acc0 - 0.005:
        judged = (
            "validation accuracy drops against the baseline, a bad sign: the candidate does not "
            "generalize as well"
        )
    elif loss > loss0:
        judged = "validation loss rises against the baseline while accuracy holds: no better"
    else:
        judged = "the candidate and the baseline are level"
    return f"Candidate vs baseline: {facts}; {judged}."
