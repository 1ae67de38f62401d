"""Knowing when not to answer: one shape for "this input is unlike what the model was trained on".

An input page asks its model's out-of-distribution (OOD) check before it shows an answer, and renders the
result the same way (``ui.out_of_distribution``). The check gives a ``Check``: whether the input is in
distribution, the score it was judged on, the threshold, and the visitor-facing reason when it is refused.
A result dataclass carries it as its ``ood`` field and mixes in ``Judged``, which reads the common shape
through: ``answer`` (None when refused), ``confidence``, ``in_distribution`` and ``reason``; so whatever
serializes a result (the API's task routes) gets it too: ``FlowerResult``, ``DigitResult``, ``SentimentResult``.

Scores are oriented so that **higher means more unusual**; an input is refused when its score is above the
threshold. Thresholds are chosen on in-distribution validation data only (``threshold_at_coverage``: the
score below which a target share of validation inputs falls), by ``training/fit_ood.py``, which writes them,
with the figures below measured on held-out and out-of-distribution sets, into the model's manifest entry
(``"ood"``, see docs/manifest.md).

- ``auroc``: the probability that a random out-of-distribution input scores higher than a random
  in-distribution one (1 is perfect, 0.5 is chance);
- ``fpr_at_tpr``: the share of out-of-distribution inputs still answered at the threshold that keeps 95% of
  the in-distribution ones (FPR at 95% TPR, in-distribution as positives);
- ``coverage``: the share of in-distribution inputs answered.

Also here: the Mahalanobis score of Lee et al. 2018 (class-conditional Gaussians with one shared covariance,
fitted on training features), optionally on L2-normalized features (as Mahalanobis++, Mueller & Hein 2025,
recommends), and the energy score of Liu et al. 2020, all pure NumPy.
No TensorFlow or Streamlit imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Thresholds keep this share of in-distribution validation inputs (the "95% TPR" of the literature).
TARGET_COVERAGE = 0.95


@dataclass(frozen=True)
class Check:
    """Whether one input looks like what the model was trained on."""

    in_distribution: bool
    reason: str
    """Why it was refused, for the visitor ("" when it is in distribution)."""
    score: float | None = None
    """Higher is more unusual; None when the model has no OOD record."""
    threshold: float | None = None
    signal: str = ""
    """What the score measures, in a few words."""


UNCHECKED = Check(True, "", signal="no out-of-distribution check recorded for this model")


class Judged:
    """The common result shape, for a result dataclass with an ``ood: Check`` field and a ``label`` (its answer)
    and ``confidence``: ``answer`` is None when the input is refused as out of distribution."""

    @property
    def in_distribution(self) -> bool:
        return self.ood.in_distribution

    @property
    def reason(self) -> str:
        return self.ood.reason

    @property
    def answer(self) -> str | None:
        return self.label if self.ood.in_distribution else None


def judge(score: float, threshold: float, signal: str, reason: str) -> Check:
    """The check of one score: in distribution when it is at most the threshold."""
    inside = bool(score <= threshold)
    return Check(inside, "" if inside else reason, float(score), float(threshold), signal)


# ## Thresholds and figures


def threshold_at_coverage(in_scores: np.ndarray, coverage: float = TARGET_COVERAGE) -> float:
    """The smallest score at or below which at least ``coverage`` of the in-distribution scores lie."""
    scores = np.sort(np.asarray(in_scores, dtype=np.float64).ravel())
    if scores.size == 0:
        raise ValueError("Choosing a threshold needs at least one in-distribution score.")
    if not 0 < coverage <= 1:
        raise ValueError(f"The coverage must lie in (0, 1], got {coverage}.")
    return float(scores[int(np.ceil(coverage * scores.size)) - 1])


def auroc(in_scores: np.ndarray, out_scores: np.ndarray) -> float:
    """P(a random out-of-distribution score > a random in-distribution one), ties counting one half."""
    inside = np.asarray(in_scores, dtype=np.float64).ravel()
    outside = np.asarray(out_scores, dtype=np.float64).ravel()
    if inside.size == 0 or outside.size == 0:
        raise ValueError("AUROC needs at least one in-distribution and one out-of-distribution score.")
    ranks = _average_ranks(np.concatenate([inside, outside]))
    u_statistic = ranks[inside.size:].sum() - outside.size * (outside.size + 1) / 2
    return float(u_statistic / (inside.size * outside.size))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def answered(scores: np.ndarray, threshold: float) -> float:
    """The share of inputs whose score is at most the threshold (answered, not refused)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    return float((scores <= threshold).mean()) if scores.size else 0.0


def fpr_at_tpr(in_scores: np.ndarray, out_scores: np.ndarray, tpr: float = TARGET_COVERAGE) -> float:
    """The share of out-of-distribution inputs answered at the threshold that answers ``tpr`` of the in ones."""
    return answered(out_scores, threshold_at_coverage(in_scores, tpr))


def figures(in_scores: np.ndarray, out_scores: np.ndarray, threshold: float) -> dict[str, float]:
    """AUROC, FPR at 95% TPR, and at the chosen threshold the in-distribution coverage and OOD share answered."""
    return {"auroc": round(auroc(in_scores, out_scores), 4),
            "fpr_at_95_tpr": round(fpr_at_tpr(in_scores, out_scores), 4),
            "coverage": round(answered(in_scores, threshold), 4),
            "ood_answered": round(answered(out_scores, threshold), 4),
            "n_in": int(np.size(in_scores)), "n_out": int(np.size(out_scores))}


# ## Scores on a classifier's features and logits


def energy(logits: np.ndarray) -> np.ndarray:
    """The energy score -logsumexp(logits) of each row (Liu et al. 2020): higher is more unusual."""
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(logits - top).sum(axis=1)))


@dataclass(frozen=True)
class GaussianModel:
    """Class means and a shared covariance of features, as a low-rank whitening (Lee et al. 2018).

    The 1280-d covariance is kept as its ``rank`` leading eigenvectors and eigenvalues, and one variance for
    the remaining directions (the mean of the other eigenvalues): the squared Mahalanobis distance is the
    whitened length along the leading directions plus the leftover length over that variance. It ships in a
    few hundred kilobytes instead of a 6.5 MB precision matrix.
    """

    means: np.ndarray  # (classes, d)
    components: np.ndarray  # (d, rank), orthonormal columns
    variances: np.ndarray  # (rank,)
    residual_variance: float
    normalized: bool = False
    """Whether features are scaled to unit length first (fitting and scoring alike)."""

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, rank: int, normalized: bool = False) -> GaussianModel:
        features = _normalized(features) if normalized else np.asarray(features, dtype=np.float64)
        labels = np.asarray(labels)
        classes = np.unique(labels)
        means = np.stack([features[labels == c].mean(axis=0) for c in classes])
        centred = features - means[np.searchsorted(classes, labels)]
        covariance = centred.T @ centred / len(features)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
        # A full-rank model has no leftover directions: the smallest eigenvalue stands in for their variance.
        residual = float(np.clip(eigenvalues[rank:] if rank < len(eigenvalues) else eigenvalues[-1:], 1e-12,
                                 None).mean())
        return cls(means.astype(np.float32), eigenvectors[:, :rank].astype(np.float32),
                   np.clip(eigenvalues[:rank], residual, None).astype(np.float32), residual, normalized)

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row to each class mean, shape (n, classes)."""
        features = _normalized(features) if self.normalized else np.asarray(features, dtype=np.float64)
        differences = features[:, None, :] - self.means.astype(np.float64)[None]  # (n, classes, d)
        projected = differences @ self.components.astype(np.float64)  # (n, classes, rank)
        along = (projected ** 2 / self.variances.astype(np.float64)).sum(axis=2)
        leftover = (differences ** 2).sum(axis=2) - (projected ** 2).sum(axis=2)
        return along + np.clip(leftover, 0, None) / self.residual_variance

    def score(self, features: np.ndarray) -> np.ndarray:
        """The Mahalanobis score: the squared distance to the nearest class mean (higher is more unusual)."""
        return self.distances(features).min(axis=1)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"means": self.means, "components": self.components, "variances": self.variances,
                "residual_variance": np.array([self.residual_variance], dtype=np.float64),
                "normalized": np.array([self.normalized])}

    @classmethod
    def from_arrays(cls, arrays: Any) -> GaussianModel:
        """The model from ``arrays()`` as saved by ``np.savez`` (read with ``allow_pickle=False``)."""
        return cls(np.asarray(arrays["means"]), np.asarray(arrays["components"]), np.asarray(arrays["variances"]),
                   float(np.asarray(arrays["residual_variance"])[0]), bool(np.asarray(arrays["normalized"])[0]))


def _normalized(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length (a zero row stays zero)."""
    features = np.asarray(features, dtype=np.float64)
    lengths = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.where(lengths > 0, lengths, 1.0)


def record_threshold(entry: dict[str, Any], format_name: str | None = None) -> float:
    """The threshold of a model's OOD record, for one format when it has its own."""
    record = entry["ood"]
    own = record.get("per_format", {}).get(format_name or "", {}).get("threshold")
    return float(own if own is not None else record["threshold"])
