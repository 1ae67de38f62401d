"""The shared out-of-distribution helpers (``showcase.ood``): thresholds, figures, scores and the result shape."""

from dataclasses import dataclass

import numpy as np
import pytest

from showcase import ood
from showcase.ood import Check


def test_the_threshold_keeps_the_requested_share_of_in_distribution_scores():
    scores = np.arange(1, 101, dtype=float)
    threshold = ood.threshold_at_coverage(scores, 0.95)
    assert threshold == 95.0
    assert ood.answered(scores, threshold) == pytest.approx(0.95)
    with pytest.raises(ValueError, match="at least one"):
        ood.threshold_at_coverage(np.array([]))
    with pytest.raises(ValueError, match="coverage"):
        ood.threshold_at_coverage(scores, 1.5)


def test_auroc_is_one_for_separated_scores_a_half_for_ties_and_zero_when_reversed():
    inside, outside = np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0])
    assert ood.auroc(inside, outside) == 1.0
    assert ood.auroc(outside, inside) == 0.0
    assert ood.auroc(np.ones(4), np.ones(3)) == 0.5


def test_fpr_at_95_tpr_counts_the_outliers_answered_at_the_in_distribution_threshold():
    inside = np.linspace(0, 1, 100)
    outside = np.array([0.5, 0.99, 2.0, 3.0])  # two below the 95% threshold (~0.949), one just above, one far
    assert ood.fpr_at_tpr(inside, outside) == 0.25
    figures = ood.figures(inside, outside, ood.threshold_at_coverage(inside))
    assert figures["fpr_at_95_tpr"] == figures["ood_answered"] == 0.25
    assert figures["coverage"] == 0.95 and figures["n_in"] == 100 and figures["n_out"] == 4


def test_energy_is_minus_logsumexp_and_stable_for_large_logits():
    logits = np.array([[0.0, 0.0], [1000.0, 1000.0]])
    assert ood.energy(logits) == pytest.approx([-np.log(2), -1000 - np.log(2)])


@pytest.mark.parametrize("normalized", [False, True])
def test_the_mahalanobis_score_is_small_near_a_class_and_large_far_from_all(normalized):
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5 + 1
    labels = np.repeat(np.arange(3), 200)
    features = centres[labels] + rng.normal(0, 0.3, (600, 8))
    model = ood.GaussianModel.fit(features, labels, rank=4, normalized=normalized)
    near, far = model.score(centres + 0.1), model.score(-centres)
    assert near.max() < far.min()
    restored = ood.GaussianModel.from_arrays(model.arrays())
    assert restored.normalized == normalized
    assert np.allclose(restored.score(-centres), far)


def test_normalized_features_ignore_the_feature_length():
    rng = np.random.default_rng(1)
    features, labels = rng.normal(size=(300, 6)) + 3, rng.integers(0, 2, 300)
    model = ood.GaussianModel.fit(features, labels, rank=6, normalized=True)
    assert np.allclose(model.score(features[:5]), model.score(7 * features[:5]))


@dataclass
class Result(ood.Judged):
    label: str
    confidence: float
    ood: Check = ood.UNCHECKED


def test_a_judged_result_answers_only_in_distribution():
    answered = Result("tulips", 0.9, ood.judge(1.0, 2.0, "distance", "Not a flower."))
    refused = Result("tulips", 0.9, ood.judge(3.0, 2.0, "distance", "Not a flower."))
    assert (answered.answer, answered.in_distribution, answered.reason) == ("tulips", True, "")
    assert (refused.answer, refused.in_distribution, refused.reason) == (None, False, "Not a flower.")
    assert Result("tulips", 0.9).in_distribution  # no check recorded: answered
