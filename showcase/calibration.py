"""Calibrated confidences: temperature scaling, its figures (ECE, Brier, NLL) and the reliability diagram.

A classifier's probabilities are *calibrated* when, of all the predictions it makes with 80% confidence,
about 80% are right. Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks")
divides the model's logits by one number T fitted on held-out data: T > 1 softens over-confident outputs,
T < 1 sharpens under-confident ones, and no predicted class changes. ``training/calibrate.py`` fits T
for each classifier and writes it, with the figures before and after, into the model's manifest entry
(``"calibration"``, see docs/manifest.md).

Serving applies it through one function, ``scaled(outputs, T)``, with the temperature of the model and
format from the manifest (``temperature(entry, format)``; each served format has its own, since full-int8
outputs step by 1/256 and are floored at half a step before taking logs). ``calibrated(predictor, entry)``
wraps an image classifier's runtime predictor so that its ``predict`` returns calibrated probabilities.
The sentiment model scores a review in chunks and averages their probabilities, so ``showcase.tasks.sentiment``
scales the review's mean instead: a review's label never changes, and a one-chunk review's word shares
are its calibrated logit split exactly. The exported models output
probabilities (softmax, or a sigmoid for the sentiment model's single output), so their logits are
recovered as log-probabilities (softmax: equal to the logits up to a constant per row, which softmax
ignores) or log-odds (sigmoid: exactly the logit).

No TensorFlow or Streamlit imports.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from showcase.runtime import MAIN_OUTPUT, outputs_of

# Equal-width confidence bins for the expected calibration error and the reliability diagram.
BINS = 15
# Class probabilities are floored before taking logs: only so that an exact 0 stays finite in float formats.
_SMALLEST = 1e-30
# Full-int8 outputs step by 1/256, so a class they report as exactly 0 is only "below 1/512": their floor is
# half a step. Without it a single confident mistake (log 0) dominates the likelihood T is fitted on.
INT8_OUTPUT_FLOOR = 1 / 512
_SIGMOID_CLIP = 1e-7


# ## Temperature scaling, the one place serving applies it


def output_floor(format_name: str | None) -> float:
    """The smallest probability a format's output can meaningfully report (half its quantization step)."""
    return INT8_OUTPUT_FLOOR if format_name and format_name.endswith("int8") else _SMALLEST


def temperature(entry: dict[str, Any] | None, format_name: str | None = None) -> float:
    """The temperature fitted for one format of the model (the reference format's when none is given or the
    format has none of its own), or 1.0 (outputs unchanged) when the model has not been calibrated."""
    record = (entry or {}).get("calibration") or {}
    own = record.get("per_format", {}).get(format_name, {}).get("temperature")
    return float(own if own is not None else record.get("temperature", 1.0))


def scales_outputs(entry: dict[str, Any] | None) -> bool:
    """Whether the temperature applies to each model output (image classifiers), not to an average of them."""
    return ((entry or {}).get("calibration") or {}).get("applies_to", "model output") == "model output"


def logits_of(outputs: np.ndarray, floor: float = _SMALLEST) -> np.ndarray:
    """Logits of a model's probability outputs: log-odds of a single sigmoid column, else log-probabilities
    (each probability floored at ``floor``)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        clipped = np.clip(outputs, _SIGMOID_CLIP, 1 - _SIGMOID_CLIP)
        return np.log(clipped / (1 - clipped))
    return np.log(np.clip(outputs, floor, None))


def scaled(outputs: np.ndarray, temperature_value: float, floor: float = _SMALLEST) -> np.ndarray:
    """Probability outputs re-scaled with a temperature (same shape; float32 unless given float64). The argmax
    never changes, nor which side of 0.5 a single sigmoid output lies."""
    if not temperature_value > 0 or not math.isfinite(temperature_value):
        raise ValueError(f"A temperature must be a positive number, not {temperature_value!r}.")
    outputs = np.asarray(outputs)
    # Float64 stays float64: a review's mean probability just below 0.5 must not round up to it.
    dtype = np.float64 if outputs.dtype == np.float64 else np.float32
    outputs = outputs.astype(dtype, copy=False)
    if temperature_value == 1.0:
        return outputs
    logits = logits_of(outputs, floor) / temperature_value
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return (1 / (1 + np.exp(-logits))).astype(dtype)
    return _softmax(logits).astype(dtype)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class CalibratedPredictor:
    """A runtime predictor whose ``predict`` returns calibrated probabilities (thread-safe as the one it wraps)."""

    def __init__(self, predictor, temperature_value: float):
        self.inner = predictor
        self.format_name = predictor.format_name
        self.temperature = temperature_value
        self.floor = output_floor(predictor.format_name)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return scaled(self.inner.predict(batch), self.temperature, self.floor)

    def predict_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the model, its probabilities calibrated (a single-output model's only output)."""
        outputs = dict(outputs_of(self.inner, batch))
        main = MAIN_OUTPUT if MAIN_OUTPUT in outputs else next(iter(outputs))
        outputs[main] = scaled(outputs[main], self.temperature, self.floor)
        return outputs


def calibrated(predictor, entry: dict[str, Any] | None):
    """An image classifier's predictor wrapped to return calibrated probabilities; ``predictor`` itself for a
    model without a temperature or one calibrated after averaging its outputs (sentiment, see
    ``showcase.tasks.sentiment``).

    A predictor calibrated already is returned as it is, so that the temperature is applied exactly once.
    """
    if isinstance(predictor, CalibratedPredictor):
        return predictor
    value = temperature(entry, predictor.format_name)
    if value == 1.0 or not scales_outputs(entry):
        return predictor
    return CalibratedPredictor(predictor, value)


# ## Fitting


def fit_temperature(loss: Callable[[float], float], low: float = 0.05, high: float = 20.0,
                    tolerance: float = 1e-5) -> float:
    """The temperature in [low, high] that minimises ``loss(T)`` (a negative log-likelihood).

    A golden-section search on log T: the NLL of temperature-scaled logits is convex in 1/T, hence
    unimodal in log T.
    """
    ratio = (math.sqrt(5) - 1) / 2
    a, b = math.log(low), math.log(high)
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    loss_c, loss_d = loss(math.exp(c)), loss(math.exp(d))
    while b - a > tolerance:
        if loss_c <= loss_d:
            b, d, loss_d = d, c, loss_c
            c = b - ratio * (b - a)
            loss_c = loss(math.exp(c))
        else:
            a, c, loss_c = c, d, loss_d
            d = a + ratio * (b - a)
            loss_d = loss(math.exp(d))
    return math.exp((a + b) / 2)


def fit_temperature_to_outputs(outputs: np.ndarray, labels: np.ndarray, floor: float = _SMALLEST) -> float:
    """The temperature minimising the NLL of ``scaled(outputs, T, floor)`` on held-out labels."""
    return fit_temperature(lambda t: nll(scaled(outputs, t, floor), labels))


# ## Figures


def class_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """(n, classes) probabilities; a single sigmoid column p becomes the two columns (1 - p, p)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:
        probabilities = probabilities[:, None]
    if probabilities.shape[1] == 1:
        return np.concatenate([1 - probabilities, probabilities], axis=1)
    return probabilities


def _confidence_and_correct(probabilities, labels) -> tuple[np.ndarray, np.ndarray]:
    probabilities = class_probabilities(probabilities)
    return probabilities.max(1), probabilities.argmax(1) == np.asarray(labels)


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Per equal-width bin of top-class confidence: its edges, count, mean confidence and accuracy."""
    confidence, correct = _confidence_and_correct(probabilities, labels)
    # Bins are (lower, upper]; a confidence of exactly 0 cannot occur for a top class.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        rows.append({"lower": round(b / bins, 6), "upper": round((b + 1) / bins, 6), "count": count,
                     "confidence": round(float(confidence[members].mean()), 6) if count else None,
                     "accuracy": round(float(correct[members].mean()), 6) if count else None})
    return rows


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: the count-weighted mean gap between confidence and accuracy per bin."""
    rows = reliability_bins(probabilities, labels, bins)
    total = sum(row["count"] for row in rows)
    return float(sum(row["count"] * abs(row["confidence"] - row["accuracy"]) for row in rows if row["count"]) / total)


def brier(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Brier score: the squared error against the one-hot label, summed over classes, averaged over items."""
    probabilities = class_probabilities(probabilities)
    one_hot = np.eye(probabilities.shape[1])[np.asarray(labels)]
    return float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))


def nll(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Negative log-likelihood (natural log) of the true labels, averaged over items."""
    probabilities = class_probabilities(probabilities)
    chosen = probabilities[np.arange(len(probabilities)), np.asarray(labels)]
    # Clipped only so that an exact 0 (an int8 output) gives a finite figure.
    return float(-np.mean(np.log(np.clip(chosen, 1e-12, None))))


def figures(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """ECE, Brier, NLL, accuracy and mean confidence, rounded for the manifest."""
    confidence, correct = _confidence_and_correct(probabilities, labels)
    return {"ece": round(ece(probabilities, labels), 5), "brier": round(brier(probabilities, labels), 5),
            "nll": round(nll(probabilities, labels), 5), "accuracy": round(float(correct.mean()), 5),
            "mean_confidence": round(float(confidence.mean()), 5)}


# ## The reliability diagram


def reliability_frame(bins_before: list[dict], bins_after: list[dict]) -> "pd.DataFrame":  # noqa: F821
    """One row per non-empty bin and version ("before" / "after calibration") for the chart."""
    import pandas as pd

    rows = []
    for half, (version, bins) in enumerate((("before calibration", bins_before), ("after calibration", bins_after))):
        for row in bins:
            if row["count"]:
                middle = (row["lower"] + row["upper"]) / 2
                # Each bin's count bars share its width: before in the left half, after in the right.
                rows.append({"version": version, "bin": f"{row['lower']:.0%}–{row['upper']:.0%}",
                             "bar_start": row["lower"] if half == 0 else middle,
                             "bar_end": middle if half == 0 else row["upper"],
                             "confidence": row["confidence"], "accuracy": row["accuracy"], "count": row["count"]})
    return pd.DataFrame(rows)


def reliability_chart(bins_before: list[dict], bins_after: list[dict], width: int = 270):
    """Altair: accuracy against mean confidence per bin, before and after, the diagonal for perfect calibration,
    and a bar chart of bin counts underneath (square-root scale, so that the sparse low bins stay visible)."""
    import altair as alt
    import pandas as pd

    data = reliability_frame(bins_before, bins_after)
    colour = alt.Color("version:N", sort=["before calibration", "after calibration"],
                       scale=alt.Scale(range=["#9aa5b1", "#ff4b4b"]), title=None,
                       legend=alt.Legend(orient="top"))
    tooltip = ["version", "bin", alt.Tooltip("confidence:Q", format=".1%"), alt.Tooltip("accuracy:Q", format=".1%"),
               "count:Q"]
    unit = alt.Scale(domain=[0, 1])
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(
        color="#333", strokeDash=[4, 3]).encode(x="x:Q", y="y:Q")
    points = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("confidence:Q", scale=unit, axis=alt.Axis(format="%"), title="mean confidence in the bin"),
        y=alt.Y("accuracy:Q", scale=unit, axis=alt.Axis(format="%"), title="accuracy in the bin"),
        color=colour, tooltip=tooltip)
    counts = alt.Chart(data).mark_bar(opacity=0.8).encode(
        x=alt.X("bar_start:Q", scale=unit, axis=alt.Axis(format="%"), title="confidence bin (15 equal-width bins)"),
        x2="bar_end:Q", y=alt.Y("count:Q", title="items (√ scale)", scale=alt.Scale(type="sqrt")), y2=alt.datum(0),
        color=colour, tooltip=tooltip)
    return alt.vconcat((diagonal + points).properties(height=260, width=width),
                       counts.properties(height=110, width=width))


def item_probabilities(outputs: np.ndarray, temperature_value: float, owner: np.ndarray | None = None,
                       count: int | None = None, floor: float = _SMALLEST) -> np.ndarray:
    """Calibrated probabilities per scored item.

    For a model that scores a text in rows of logits (sentiment), ``owner`` gives each output row's item: the
    item's logit is the sum over its rows (``showcase.tasks.sentiment.review_logits``), divided by the
    temperature, as the page computes it.
    """
    if owner is None:
        return scaled(outputs, temperature_value, floor)
    from showcase.tasks.sentiment import review_logits

    if not temperature_value > 0 or not math.isfinite(temperature_value):
        raise ValueError(f"A temperature must be a positive number, not {temperature_value!r}.")
    logits = review_logits(np.asarray(outputs)[:, 0], owner, count) / temperature_value
    return (1 / (1 + np.exp(-logits)))[:, None]
