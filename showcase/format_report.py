"""The Formats page's figures: one row per model × format, the targets, and a summary in words.

Everything here is computed from a benchmark result (``models/benchmarks.json`` or a live run of
``showcase.bench``) and the manifest; nothing is typed in by hand.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from showcase import manifest as manifest_lib
from showcase.bench import REFERENCE_FORMAT as REFERENCE
FP32_TFLITE = "tflite"
FULL_INT8 = "tflite_int8"
# The targets for every classifier.
INT8_MAX_SIZE_SHARE = 0.30  # of the fp32 TFLite file
INT8_MAX_METRIC_LOSS = 0.01  # one accuracy point
MIN_SPEEDUP = 3.0  # fastest format vs SavedModel, batch-1 p50


def is_classifier(entry: dict[str, Any]) -> bool:
    return "classification" in entry["task"]


def rows(benchmarks: dict[str, Any], manifest: dict[str, Any]) -> pd.DataFrame:
    """One row per measured model × format, with size and speed ratios against the reference format."""
    records = []
    for model_name, model_results in benchmarks.get("models", {}).items():
        if model_name not in manifest["models"]:
            continue
        measured = model_results["formats"]
        # In the pages' order of formats, whatever order the benchmark file merged them in.
        formats = {name: measured[name] for name in manifest_lib.FORMAT_LABELS if "p50_ms" in measured.get(name, {})}
        reference = formats.get(REFERENCE)
        for format_name, figures in formats.items():
            metric = figures.get("metric", {})
            records.append({
                "model": model_name,
                "format": format_name,
                "format label": manifest_lib.FORMAT_LABELS.get(format_name, format_name),
                "size (MB)": figures["bytes"] / 1e6,
                "p50 (ms)": figures["p50_ms"],
                "p95 (ms)": figures["p95_ms"],
                "load (s)": figures["load_seconds"],
                "first inference (ms)": figures["first_inference_ms"],
                "batch-32 items/s": figures["batch32_items_per_second"],
                "memory growth (MB)": figures["memory_growth_mb"],
                "metric": metric.get("metric"),
                "metric value": metric.get("value"),
                "metric change": metric.get("delta_vs_reference"),
                "higher is better": metric.get("higher_is_better"),
                "smaller than SavedModel (×)": reference["bytes"] / figures["bytes"] if reference else None,
                "faster than SavedModel (×)": reference["p50_ms"] / figures["p50_ms"] if reference else None,
            })
    table = pd.DataFrame(records)
    if not table.empty:
        table["quality change"] = table.apply(quality_change, axis=1).astype(float)
    return table


def quality_change(row: pd.Series) -> float | None:
    """The metric change on one scale where below 0 is worse: points for accuracy-like metrics (fractions),
    percent of the reference's value, sign flipped, for a loss."""
    change = row["metric change"]
    if change is None or pd.isna(change):
        return None
    if row["higher is better"]:
        return 100 * change
    reference = row["metric value"] - change
    return -100 * change / reference if reference else None


def metric_change_label(row: pd.Series) -> str:
    """"−0.30 points" for accuracy-like metrics, "+1.2% loss" for a loss; "" when not measured."""
    change = row["quality change"]
    if change is None or pd.isna(change):
        return ""
    if row["higher is better"]:
        return f"{change:+.2f} points of {row['metric'].replace('_', ' ')}"
    return f"{-change:+.1f}% {row['metric'].replace('_', ' ')}"


def summary(table: pd.DataFrame) -> list[str]:
    """One sentence per model: its fastest and its smallest format against SavedModel, with the metric change."""
    sentences = []
    for model_name, group in table.groupby("model", sort=False):
        if REFERENCE not in set(group["format"]):
            continue
        others = group[group["format"] != REFERENCE]
        if others.empty:
            continue
        fastest = others.loc[others["p50 (ms)"].idxmin()]
        smallest = others.loc[others["size (MB)"].idxmin()]
        parts = [f"**{model_name}**: {fastest['format label']} is the fastest, "
                 f"{fastest['faster than SavedModel (×)']:.1f}× faster than SavedModel at batch 1 "
                 f"({fastest['p50 (ms)']:.2f} vs {group.loc[group['format'] == REFERENCE, 'p50 (ms)'].iloc[0]:.2f} ms)"]
        if smallest["format"] != fastest["format"]:
            parts.append(f"{smallest['format label']} is the smallest, {smallest['smaller than SavedModel (×)']:.1f}× "
                         f"smaller and {smallest['faster than SavedModel (×)']:.1f}× faster than SavedModel")
        else:
            parts[0] += f" and the smallest ({smallest['smaller than SavedModel (×)']:.1f}× smaller)"
        change = metric_change_label(smallest)
        sentences.append("; ".join(parts) + (f", {change}" if change else "") + ".")
    return sentences


def target_checks(table: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The targets for each classifier, met or not, with the measured figures and, when missed, why."""
    checks = []
    for model_name, entry in manifest["models"].items():
        group = table[table["model"] == model_name].set_index("format")
        if not is_classifier(entry) or group.empty:
            continue
        checks.append(_int8_check(model_name, entry, group))
        checks.append(_speed_check(model_name, group))
    return pd.DataFrame(checks)


def _int8_check(model_name: str, entry: dict[str, Any], group: pd.DataFrame) -> dict[str, Any]:
    target = (f"full-int8 TFLite ≤{INT8_MAX_SIZE_SHARE:.0%} of fp32 TFLite size, "
              f"≤{100 * INT8_MAX_METRIC_LOSS:.0f} point metric loss")
    notes = [] if FULL_INT8 in entry["artifacts"] else [_not_served_note(entry)]
    if FULL_INT8 not in group.index or FP32_TFLITE not in group.index:
        notes.insert(0, "no full-int8 model was measured")
        return {"model": model_name, "target": target, "measured": "—", "met": False, "why / note": "; ".join(notes)}
    int8, fp32 = group.loc[FULL_INT8], group.loc[FP32_TFLITE]
    share = int8["size (MB)"] / fp32["size (MB)"]
    loss = -int8["metric change"] if int8["metric change"] is not None and not pd.isna(int8["metric change"]) else None
    measured = f"{share:.0%} of the size" + (f", metric {-100 * loss:+.2f} points" if loss is not None else
                                            ", metric not measured (no evaluation data on this machine)")
    reasons = []
    if share > INT8_MAX_SIZE_SHARE:
        reasons.append(f"the file is {share:.0%} of fp32: int8 stores weights in a quarter of the bytes, but the "
                       "per-channel scales and zero points, the int32 biases and the graph do not shrink (one scale "
                       "per tensor would fit, but costs far more accuracy: see docs/formats.md)")
    if loss is not None and loss > INT8_MAX_METRIC_LOSS:
        reasons.append(f"quantization costs {100 * loss:.2f} points")
    if loss is None:
        reasons.append("the metric was not measured")
    if notes:
        notes.insert(0, "built for the comparison only")
    return {"model": model_name, "target": target, "measured": measured, "met": not reasons,
            "why / note": "; ".join(reasons + notes)}


def _not_served_note(entry: dict[str, Any]) -> str:
    """Why a model's page serves no full-int8 file, from the training script's record of the one it rejected."""
    rejected = entry.get("extra", {}).get("tflite_int8_rejected")
    if not rejected:
        return "the model's page does not serve full int8 (its training script keeps none)"
    return (f"the model's page does not serve full int8: the training script's own int8 file (accuracy "
            f"{rejected['accuracy']:.2%}) moved the probability of some short reviews by up to "
            f"{rejected['max_abs_probability_difference']:.2f} from the float model's, as the mean of a few int8 "
            "embeddings falls outside the calibrated range")


def _speed_check(model_name: str, group: pd.DataFrame) -> dict[str, Any]:
    target = f"fastest format ≥{MIN_SPEEDUP:.0f}× faster than SavedModel (batch-1 p50)"
    if REFERENCE not in group.index or len(group) < 2:
        return {"model": model_name, "target": target, "measured": "—", "met": False,
                "why / note": "SavedModel and at least one other format must be measured in the same run"}
    others = group.drop(index=REFERENCE)
    fastest = others["p50 (ms)"].idxmin()
    speedup = group.loc[REFERENCE, "p50 (ms)"] / others.loc[fastest, "p50 (ms)"]
    met = speedup >= MIN_SPEEDUP
    why = "" if met else (f"{others.loc[fastest, 'format label']} takes {others.loc[fastest, 'p50 (ms)']:.2f} ms; "
                          "the model's own arithmetic dominates, so the runtime's overhead matters less")
    return {"model": model_name, "target": target, "measured": f"{speedup:.1f}× ({others.loc[fastest, 'format label']})",
            "met": met, "why / note": why}
