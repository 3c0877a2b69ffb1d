"""Uncertainty of F1 differences: each test against a hand computation."""

import numpy as np
import pytest

from mtl_bioner.study.significance import (
    approximate_randomization,
    f1_from_counts,
    hierarchical_bootstrap,
    holm,
    sentence_counts,
    sign_flip_test,
)
from mtl_bioner.training.metrics import entity_scores


def test_sentence_counts_sum_to_seqeval_f1():
    gold = [["B-D", "I-D", "O", "B-D"], ["O", "B-C"], ["I-D", "O"]]
    predicted = [["B-D", "I-D", "O", "O"], ["B-C", "B-C"], ["I-D", "B-D"]]
    counts = sentence_counts(gold, predicted)
    assert counts.tolist() == [[1, 1, 2], [1, 2, 1], [1, 2, 1]]
    assert f1_from_counts(counts.sum(0)) == pytest.approx(entity_scores(gold, predicted)["f1"])
    assert f1_from_counts(np.array([0, 0, 0])) == 0.0
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags but 1 predicted"):
        sentence_counts([["O", "O"]], [["O"]])


def test_approximate_randomization_against_hand_enumeration():
    # A gets both sentences right, B misses both. Swapping one sentence gives ±(0.8 - 0.5) < 1, swapping none or
    # both gives ±1: 2 of 4 patterns are as extreme as observed. A third, identical sentence changes nothing.
    a = np.array([[1, 1, 1], [2, 2, 2]])
    b = np.array([[0, 0, 1], [0, 0, 2]])
    result = approximate_randomization(a, b)
    assert result == {"delta_f1": 1.0, "p_value": 0.5, "exact": True, "samples": 4}
    same = np.array([[0, 1, 0]])
    result = approximate_randomization(np.vstack([a, same]), np.vstack([b, same]))
    assert result["delta_f1"] == pytest.approx(6 / 7) and result["p_value"] == 0.5 and result["samples"] == 8
    # Monte Carlo beyond 12 sentences: identical systems give p = 1; one always right vs one always wrong only
    # ties the observed difference when all or none are swapped, so p = (0 + 1) / (trials + 1).
    right, wrong = np.tile([1, 1, 1], (40, 1)), np.tile([0, 0, 1], (40, 1))
    assert approximate_randomization(right, right, trials=500)["p_value"] == 1.0
    far = approximate_randomization(right, wrong, trials=500, seed=3)
    assert (far["exact"], far["p_value"]) == (False, pytest.approx(1 / 501))
    mixed = np.vstack([right[:20], wrong[:20]])
    assert approximate_randomization(mixed, wrong, trials=500, seed=3) == approximate_randomization(
        mixed, wrong, trials=500, seed=3
    )
    with pytest.raises(ValueError, match="count arrays of one shape"):
        approximate_randomization(a, b[:1])


def test_sign_flip_test_against_hand_enumeration():
    assert sign_flip_test([0.01, 0.03]) == {"mean_difference": 0.02, "p_value": 0.5, "n_seeds": 2, "min_p_value": 0.5}
    # Sums of the 8 sign patterns of (.02, .01, .03): ±.06 reach |.06|, the others (±.02, ±.04, 0, 0) do not.
    assert sign_flip_test([0.02, 0.01, 0.03])["p_value"] == 0.25
    # (.03, -.01, .02): sums .04, -.02, .06, 0, 0, -.06, .02, -.04; four reach |.04|.
    assert sign_flip_test([0.03, -0.01, 0.02])["p_value"] == 0.5
    with pytest.raises(ValueError, match="2 to 20"):
        sign_flip_test([0.1])


def counts(rows):
    return np.array(rows, dtype=np.float64)


def test_bootstrap_of_identical_systems_is_zero_and_of_a_system_better_everywhere_excludes_zero():
    a = [counts([[1, 1, 1], [1, 1, 1], [2, 2, 2]])] * 2
    same = hierarchical_bootstrap(a, a, replicates=2000)
    assert (same["delta_f1"], same["ci_low"], same["ci_high"], same["p_value"]) == (0.0, 0.0, 0.0, 1.0)
    worse = [counts([[0, 1, 1], [0, 1, 1], [1, 2, 2]])] * 2  # below a on every sentence
    better = hierarchical_bootstrap(a, worse, replicates=2000)
    assert better["ci_low"] > 0 and better["p_value"] == 1 / 2000
    assert hierarchical_bootstrap(a, worse, replicates=2000) == better  # seeded: the same table twice


def test_bootstrap_distribution_against_hand_enumeration():
    # One seed, two sentences: A is right on both, B only on the second. Resampling the two sentences gives
    # ΔF1 = 1 (first twice, p 1/4), 0.5 (one of each, p 1/2) or 0 (second twice, p 1/4).
    a, b = [counts([[1, 1, 1], [1, 1, 1]])], [counts([[0, 1, 1], [1, 1, 1]])]
    result = hierarchical_bootstrap(a, b, replicates=20_000)
    assert result["delta_f1"] == pytest.approx(0.5)
    assert (result["ci_low"], result["ci_high"]) == (0.0, 1.0)
    assert result["p_value"] == pytest.approx(2 * 0.25, abs=0.02)


def test_bootstrap_widens_when_the_seeds_disagree():
    # Per seed the same gap in size, once for A and once for B: the mean is 0, and resampling seeds says so.
    a = [counts([[1, 1, 1]] * 40 + [[0, 1, 1]] * 10), counts([[1, 1, 1]] * 30 + [[0, 1, 1]] * 20)]
    b = [counts([[1, 1, 1]] * 30 + [[0, 1, 1]] * 20), counts([[1, 1, 1]] * 40 + [[0, 1, 1]] * 10)]
    result = hierarchical_bootstrap(a, b, replicates=4000)
    assert result["delta_f1"] == pytest.approx(0.0, abs=1e-12)
    assert result["ci_low"] < -0.08 and result["ci_high"] > 0.08 and result["p_value"] > 0.5
    pooled = approximate_randomization(sum(a), sum(b), trials=2000)
    assert pooled["p_value"] > 0.5  # pooled over seeds, the gaps cancel too


def test_holm_against_hand_computation():
    # Sorted p: 0.01, 0.03, 0.04, 0.5 -> 4 * 0.01, max(0.04, 3 * 0.03), max(0.09, 2 * 0.04), max(0.09, 0.5).
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.9, 0.8]) == [1.0, 1.0] and holm([]) == []
