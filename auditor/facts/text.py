"""Facts about a text model's texts: near copies of training texts, token proxies, length and OOV.

All are computed on the row samples' texts (`SplitRows.sample_text`, at most `--sample-rows` per
split; near duplicates on at most NEAR_SAMPLE of them), so their cost does not grow with the
splits. Exact copies up to case, spacing and punctuation are the row hashes' business (LK01/LK02);
these facts add what hashing cannot see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.facts.rows import SplitRows
from auditor.facts.twosample import compare
from auditor.loading.categories import normalize

NEAR_SAMPLE = 5_000  # texts per split compared by MinHash
NUM_PERM = 64  # MinHash permutations
SHINGLE = 3  # words per shingle
NEAR_JACCARD = 0.8  # Jaccard similarity of shingle sets that makes two texts near copies
# MinHash estimates Jaccard with noise: candidates from a lower LSH threshold, then exact Jaccard.
CANDIDATE_JACCARD = 0.6
MIN_TOKEN_DOCS = 10  # fewest texts a token must appear in to be scored
TOKENS_SHOWN = 5
SNIPPET = 80  # characters of a text shown as evidence
EXAMPLES = 5


@dataclass(frozen=True)
class TextFacts:
    """What the text rule kinds judge for one split (cross-split facts None for train)."""

    sample_rows: int
    # Near copies of training texts (not exact after normalization): None when not computed.
    near_checked: int | None
    near_copies: int | None
    near_unavailable: str | None  # why near copies were not computed
    near_examples: tuple[Mapping[str, Any], ...]
    # Tokens by how well their presence alone predicts a class, strongest first.
    tokens: tuple[Mapping[str, Any], ...]
    # Length in words and out-of-vocabulary share against the training sample.
    length_psi: float | None
    length_ks_pvalue: float | None
    length_median: float | None
    train_length_median: float | None
    oov_share: float | None
    train_oov_share: float | None  # one half of the train sample against the other's vocabulary
    method: str = (
        f"on the row samples: near copies by MinHash ({NUM_PERM} permutations) over "
        f"{SHINGLE}-word shingles, Jaccard >= {NEAR_JACCARD} (at most {NEAR_SAMPLE:,} texts a "
        "split); tokens: ROC AUC of a token's presence alone; length in words (PSI over train "
        "deciles, Kolmogorov-Smirnov); OOV: tokens of the split not in the training sample"
    )


def snippet(text: Any) -> str:
    """Return a text as evidence shows it: on one line, at most SNIPPET characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


def _texts(rows: SplitRows) -> list[str]:
    assert rows.sample_text is not None
    return ["" if t is None else str(t) for t in rows.sample_text]


def _tokens(text: str) -> list[str]:
    return normalize(text).split()


def _shingles(text: str) -> set[str]:
    words = _tokens(text)
    if len(words) < SHINGLE:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def near_copies(
    train: SplitRows, other: SplitRows
) -> tuple[int, int, tuple[Mapping[str, Any], ...]]:
    """Count OTHER's sampled texts with a near (not exact) copy among train's sampled texts."""
    from datasketch import MinHash, MinHashLSH

    train_texts, other_texts = _texts(train)[:NEAR_SAMPLE], _texts(other)[:NEAR_SAMPLE]
    train_sets = [_shingles(t) for t in train_texts]
    other_sets = [_shingles(t) for t in other_texts]
    lsh = MinHashLSH(threshold=CANDIDATE_JACCARD, num_perm=NUM_PERM)
    hashes = MinHash.bulk(
        [[s.encode() for s in shingles] for shingles in train_sets], num_perm=NUM_PERM
    )
    for i, (shingles, minhash) in enumerate(zip(train_sets, hashes, strict=True)):
        if shingles:
            lsh.insert(str(i), minhash, check_duplication=False)
    queries = MinHash.bulk(
        [[s.encode() for s in shingles] for shingles in other_sets], num_perm=NUM_PERM
    )
    found = 0
    shown: list[dict[str, Any]] = []
    for i, (shingles, minhash) in enumerate(zip(other_sets, queries, strict=True)):
        if not shingles:
            continue
        best, best_j = 0.0, -1
        for key in lsh.query(minhash):
            j = int(key)
            # MinHash finds candidates; the exact Jaccard of the shingle sets decides.
            similarity = len(shingles & train_sets[j]) / len(shingles | train_sets[j])
            if similarity > best:
                best, best_j = similarity, j
        if best_j < 0 or best < NEAR_JACCARD:
            continue
        if normalize(other_texts[i]) == normalize(train_texts[best_j]):
            continue  # an exact copy after normalization: LK01 counts it
        found += 1
        if len(shown) < EXAMPLES:
            shown.append(
                {
                    "row": int(other.sample_rows[i]),
                    "train_row": int(train.sample_rows[best_j]),
                    "similarity": round(best, 3),
                    "text": snippet(other_texts[i]),
                    "train_text": snippet(train_texts[best_j]),
                }
            )
    return len(other_texts), found, tuple(shown)


def token_scores(rows: SplitRows, classes: tuple[str, ...]) -> tuple[Mapping[str, Any], ...]:
    """Score every token of MIN_TOKEN_DOCS or more sampled texts by its presence alone.

    The score of a token for a class is the ROC AUC of "the text holds the token" as the only
    predictor of the class: (recall + specificity) / 2, or its complement when absence predicts.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    texts, y = _texts(rows), rows.sample_y
    if len(texts) < 2 * MIN_TOKEN_DOCS:
        return ()
    vectorizer = CountVectorizer(
        binary=True, min_df=MIN_TOKEN_DOCS, tokenizer=_tokens, lowercase=False, token_pattern=None
    )
    try:
        present = vectorizer.fit_transform(texts).tocsc()
    except ValueError:  # no token in MIN_TOKEN_DOCS texts
        return ()
    vocabulary = vectorizer.get_feature_names_out()
    docs = np.asarray(present.sum(axis=0)).ravel()
    targets = [1] if len(classes) == 2 else list(range(len(classes)))
    best = np.zeros(len(vocabulary))
    best_class = np.zeros(len(vocabulary), dtype=int)
    best_recall = np.zeros(len(vocabulary))
    for t in targets:
        positive = y == t
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos < MIN_TOKEN_DOCS or n_neg < MIN_TOKEN_DOCS:
            continue
        hits = np.asarray(present[positive].sum(axis=0)).ravel()
        recall = hits / n_pos
        specificity = 1 - (docs - hits) / n_neg
        score = (recall + specificity) / 2
        score = np.maximum(score, 1 - score)  # absence may predict as well
        better = score > best
        best[better], best_class[better], best_recall[better] = score[better], t, recall[better]
    order = np.argsort(-best, kind="stable")[:TOKENS_SHOWN]
    shown = []
    for j in order:
        if best[j] <= 0:
            break
        holder = np.flatnonzero(present[:, j].toarray().ravel())
        shown.append(
            {
                "token": str(vocabulary[j]),
                "class": classes[int(best_class[j])],
                "score": float(best[j]),
                "text_share": float(docs[j] / len(texts)),
                "class_recall": float(best_recall[j]),
                "example": snippet(texts[int(holder[0])]) if len(holder) else "",
            }
        )
    return tuple(shown)


def _oov(vocabulary: set[str], texts: list[list[str]]) -> float | None:
    total = sum(len(t) for t in texts)
    if not total:
        return None
    return sum(1 for words in texts for w in words if w not in vocabulary) / total


def text_facts(
    train: SplitRows | None, split: SplitRows, classes: tuple[str, ...]
) -> TextFacts | None:
    """Compute the text facts of SPLIT (against TRAIN when it is another split); None: no text."""
    if split.sample_text is None:
        return None
    tokens = token_scores(split, classes)
    against = train is not None and train is not split and train.sample_text is not None
    near_checked = near = None
    unavailable = None
    examples: tuple[Mapping[str, Any], ...] = ()
    length_psi = length_p = median = train_median = oov = train_oov = None
    if against:
        assert train is not None
        try:
            near_checked, near, examples = near_copies(train, split)
        except ImportError:
            unavailable = "needs the datasketch package: pip install 'keras-auditor[text]'"
        train_words = [_tokens(t) for t in _texts(train)]
        words = [_tokens(t) for t in _texts(split)]
        a = np.array([len(w) for w in train_words], dtype=float)
        b = np.array([len(w) for w in words], dtype=float)
        if len(a) and len(b):
            shift = compare(a, b)
            length_psi, length_p = shift["psi"], shift["ks_pvalue"]
            median, train_median = float(np.median(b)), float(np.median(a))
        vocabulary = {w for t in train_words for w in t}
        oov = _oov(vocabulary, words)
        first = {w for t in train_words[::2] for w in t}
        train_oov = _oov(first, train_words[1::2])
    return TextFacts(
        sample_rows=len(split.sample_y),
        near_checked=near_checked,
        near_copies=near,
        near_unavailable=unavailable,
        near_examples=examples,
        tokens=tokens,
        length_psi=length_psi,
        length_ks_pvalue=length_p,
        length_median=median,
        train_length_median=train_median,
        oov_share=oov,
        train_oov_share=train_oov,
    )
