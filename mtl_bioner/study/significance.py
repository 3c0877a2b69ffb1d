"""Uncertainty of F1 differences: a hierarchical bootstrap over seeds and test sentences (the primary interval and p),
Holm's correction across a table's comparisons, and two secondary tests: approximate randomisation over test
sentences (conditional on the trained models) and sign flips over seeds.

Entity F1 is not a mean of per-sentence scores, so sentence-level tests resample per-sentence entity *counts*
(true positives, predicted, gold) and recompute micro F1 from their sums, as conlleval/seqeval would on the whole set.
Everything is plain numpy with a fixed random seed, so a table is reproducible bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data_scripts.schemes import entity_spans


# Exact enumeration of all 2**n swap patterns up to this many sentences; Monte Carlo beyond.
MAX_EXACT_SENTENCES = 12
_CHUNK = 256


def sentence_counts(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> np.ndarray:
    """(n_sentences, 3) array of true positives, predicted and gold entities per sentence, in seqeval's default
    (conlleval-compatible) mode: their column sums give exactly `training.metrics.entity_scores`' micro F1."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    counts = np.zeros((len(gold), 3), dtype=np.int64)
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted tags")
        gold_entities, predicted_entities = set(entity_spans(gold_tags)), set(entity_spans(predicted_tags))
        counts[index] = (len(gold_entities & predicted_entities), len(predicted_entities), len(gold_entities))
    return counts


def f1_from_counts(totals: np.ndarray) -> np.ndarray:
    """Micro F1 = 2 TP / (predicted + gold) from summed counts (last axis: TP, predicted, gold); 0 when undefined."""
    totals = np.asarray(totals, dtype=np.float64)
    denominator = totals[..., 1] + totals[..., 2]
    return np.divide(2 * totals[..., 0], denominator, out=np.zeros_like(denominator), where=denominator > 0)


def approximate_randomization(
    counts_a: np.ndarray, counts_b: np.ndarray, *, trials: int = 10_000, seed: int = 0
) -> dict[str, float | int | bool]:
    """Two-sided paired approximate randomisation test (Noreen 1989) of F1(A) - F1(B) over sentences.

    Under the null the two systems' outputs on a sentence are exchangeable, so each sentence's counts are swapped
    between A and B with probability 1/2 and |ΔF1| recomputed. With at most `MAX_EXACT_SENTENCES` sentences every
    pattern is enumerated (an exact permutation test, p = share of patterns at least as extreme); otherwise `trials`
    random patterns give p = (extreme + 1) / (trials + 1).
    """
    counts_a, counts_b = np.asarray(counts_a, dtype=np.float64), np.asarray(counts_b, dtype=np.float64)
    if counts_a.shape != counts_b.shape or counts_a.ndim != 2 or counts_a.shape[1] != 3:
        raise ValueError(
            f"need two (n_sentences, 3) count arrays of one shape, got {counts_a.shape}, {counts_b.shape}"
        )
    n_sentences = len(counts_a)
    total_a, total_b, difference = counts_a.sum(0), counts_b.sum(0), counts_b - counts_a
    observed = float(f1_from_counts(total_a) - f1_from_counts(total_b))
    threshold = abs(observed) - 1e-12  # float sums of equal counts in another order must still count as extreme
    exact = n_sentences <= MAX_EXACT_SENTENCES
    n_patterns = 2**n_sentences if exact else trials
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, n_patterns, _CHUNK):
        size = min(_CHUNK, n_patterns - start)
        if exact:
            codes = np.arange(start, start + size)[:, None]
            swaps = ((codes >> np.arange(n_sentences)) & 1).astype(np.float64)
        else:
            swaps = (rng.random((size, n_sentences)) < 0.5).astype(np.float64)
        moved = swaps @ difference  # what swapping moves from B's side to A's side
        deltas = f1_from_counts(total_a + moved) - f1_from_counts(total_b - moved)
        extreme += int(np.count_nonzero(np.abs(deltas) >= threshold))
    p_value = extreme / n_patterns if exact else (extreme + 1) / (trials + 1)
    return {"delta_f1": observed, "p_value": p_value, "exact": exact, "samples": n_patterns}


def sign_flip_test(differences: Sequence[float]) -> dict[str, float | int]:
    """Exact two-sided paired permutation test over seeds: every sign pattern of the per-seed F1 differences.

    With S seeds the smallest attainable p is 2 / 2**S (0.5 for two seeds), which the result states."""
    values = np.asarray(differences, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2 or len(values) > 20:
        raise ValueError(f"need 2 to 20 per-seed differences, got {len(values)}")
    n_values = len(values)
    signs = 1 - 2 * ((np.arange(2**n_values)[:, None] >> np.arange(n_values)) & 1)
    means = (signs * values).mean(axis=1)
    observed = float(values.mean())
    extreme = int(np.count_nonzero(np.abs(means) >= abs(observed) - 1e-12))
    return {
        "mean_difference": observed,
        "p_value": extreme / 2**n_values,
        "n_seeds": n_values,
        "min_p_value": 2 / 2**n_values,
    }


def hierarchical_bootstrap(
    counts_a: Sequence[np.ndarray],
    counts_b: Sequence[np.ndarray],
    *,
    replicates: int = 10_000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float | int]:
    """Interval and two-sided p of ΔF1 = mean over seeds of F1(A) - F1(B), resampling both sources of variation.

    `counts_a[s]`, `counts_b[s]`: (n_sentences, 3) entity counts (`sentence_counts`) of seed s, paired by seed and by
    sentence. Each replicate draws seeds with replacement, then, for each drawn seed, the test sentences with
    replacement (the same sentences for A and B), and averages the drawn seeds' ΔF1. The interval is the percentile
    interval; p is twice the share of replicates on the far side of 0 (at least 1 / replicates). Unlike a test over
    sentences alone, the interval widens when the trained models differ between seeds.
    """
    counts_a = [np.asarray(c, dtype=np.float64) for c in counts_a]
    counts_b = [np.asarray(c, dtype=np.float64) for c in counts_b]
    if not counts_a or len(counts_a) != len(counts_b):
        raise ValueError(
            f"need the same number (at least 1) of seeds for A and B, got {len(counts_a)}, {len(counts_b)}"
        )
    shapes = {c.shape for c in (*counts_a, *counts_b)}
    if len(shapes) != 1 or next(iter(shapes))[1:] != (3,):
        raise ValueError(f"need (n_sentences, 3) count arrays of one shape, got {sorted(shapes)}")
    n_seeds, n_sentences = len(counts_a), counts_a[0].shape[0]
    observed = float(
        np.mean([f1_from_counts(a.sum(0)) - f1_from_counts(b.sum(0)) for a, b in zip(counts_a, counts_b)])
    )
    rng = np.random.default_rng(seed)
    deltas = np.empty(replicates)
    for start in range(0, replicates, _CHUNK):
        size = min(_CHUNK, replicates - start)
        total = np.zeros(size)
        for _ in range(n_seeds):  # one drawn seed per replicate at a time
            drawn = rng.integers(0, n_seeds, size)
            drawn_sentences = (
                rng.integers(0, n_sentences, (size, n_sentences)) + n_sentences * np.arange(size)[:, None]
            )
            weights = np.bincount(drawn_sentences.ravel(), minlength=size * n_sentences).reshape(size, n_sentences)
            weights = weights.astype(np.float64)  # how often each replicate drew each sentence
            for index in range(n_seeds):
                rows = drawn == index
                if rows.any():
                    difference = f1_from_counts(weights[rows] @ counts_a[index])
                    difference -= f1_from_counts(weights[rows] @ counts_b[index])
                    total[rows] += difference
        deltas[start : start + size] = total / n_seeds
    tail = (1 - level) / 2
    low, high = np.quantile(deltas, [tail, 1 - tail])
    far_side = min(np.count_nonzero(deltas <= 0), np.count_nonzero(deltas >= 0))
    return {
        "delta_f1": observed,
        "ci_low": float(low),
        "ci_high": float(high),
        "level": level,
        "p_value": min(1.0, max(2 * far_side, 1) / replicates),
        "replicates": replicates,
        "seeds": n_seeds,
    }


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: the family-wise error stays at the level over all the comparisons given."""
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


__all__ = [
    "approximate_randomization",
    "f1_from_counts",
    "hierarchical_bootstrap",
    "holm",
    "sentence_counts",
    "sign_flip_test",
]
