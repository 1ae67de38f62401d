"""The Formats page's figures: one row per model × format, the targets, a summary in words, and its charts.

Everything here is computed from a benchmark result (``models/benchmarks.json`` or a live run of
``showcase.bench``) and the manifest; nothing is typed in by hand. The page (``app/pages/formats.py``) only
lays these out.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from showcase.formats import FORMAT_LABELS, REFERENCE_FORMAT, TFLITE, TFLITE_INT8

FP32_TFLITE = TFLITE
FULL_INT8 = TFLITE_INT8
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
        formats = {name: measured[name] for name in FORMAT_LABELS if "p50_ms" in measured.get(name, {})}
        reference = formats.get(REFERENCE_FORMAT)
        for format_name, figures in formats.items():
            metric = figures.get("metric", {})
            records.append({
                "model": model_name,
                "format": format_name,
                "format label": FORMAT_LABELS.get(format_name, format_name),
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
                **calibration_errors(manifest["models"][model_name], format_name),
                "smaller than SavedModel (×)": reference["bytes"] / figures["bytes"] if reference else None,
                "faster than SavedModel (×)": reference["p50_ms"] / figures["p50_ms"] if reference else None,
            })
    table = pd.DataFrame(records)
    if not table.empty:
        table["quality change"] = table.apply(quality_change, axis=1).astype(float)
    return table


def calibration_errors(entry: dict[str, Any], format_name: str) -> dict[str, float | None]:
    """ECE before and after temperature scaling, from the manifest's calibration record (measured on the model's
    report split, not the benchmark's subset); None for a format it does not cover (the built variants)."""
    figures = (entry.get("calibration") or {}).get("per_format", {}).get(format_name)
    return {"ECE raw": figures["before"]["ece"] if figures else None,
            "ECE calibrated": figures["after"]["ece"] if figures else None}


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
        if REFERENCE_FORMAT not in set(group["format"]):
            continue
        others = group[group["format"] != REFERENCE_FORMAT]
        if others.empty:
            continue
        fastest = others.loc[others["p50 (ms)"].idxmin()]
        smallest = others.loc[others["size (MB)"].idxmin()]
        reference_p50 = group.loc[group["format"] == REFERENCE_FORMAT, "p50 (ms)"].iloc[0]
        parts = [f"**{model_name}**: {fastest['format label']} is the fastest, "
                 f"{fastest['faster than SavedModel (×)']:.1f}× faster than SavedModel at batch 1 "
                 f"({fastest['p50 (ms)']:.2f} vs {reference_p50:.2f} ms)"]
        if smallest["format"] != fastest["format"]:
            parts.append(f"{smallest['format label']} is the smallest, "
                         f"{smallest['smaller than SavedModel (×)']:.1f}× smaller and "
                         f"{smallest['faster than SavedModel (×)']:.1f}× faster than SavedModel")
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
            f"{rejected['accuracy']:.2%}, {rejected['label_agreement_with_savedmodel']:.2%} of labels agreeing) "
            f"moved some review probabilities by up to {rejected['max_abs_probability_difference']:.2f} from the "
            "float model's, as its int8 weights and logit round every n-gram's weight")


def _speed_check(model_name: str, group: pd.DataFrame) -> dict[str, Any]:
    target = f"fastest format ≥{MIN_SPEEDUP:.0f}× faster than SavedModel (batch-1 p50)"
    if REFERENCE_FORMAT not in group.index or len(group) < 2:
        return {"model": model_name, "target": target, "measured": "—", "met": False,
                "why / note": "SavedModel and at least one other format must be measured in the same run"}
    others = group.drop(index=REFERENCE_FORMAT)
    fastest = others["p50 (ms)"].idxmin()
    speedup = group.loc[REFERENCE_FORMAT, "p50 (ms)"] / others.loc[fastest, "p50 (ms)"]
    met = speedup >= MIN_SPEEDUP
    why = "" if met else (f"{others.loc[fastest, 'format label']} takes {others.loc[fastest, 'p50 (ms)']:.2f} ms; "
                          "the model's own arithmetic dominates, so the runtime's overhead matters less")
    measured = f"{speedup:.1f}× ({others.loc[fastest, 'format label']})"
    return {"model": model_name, "target": target, "measured": measured, "met": met, "why / note": why}


# ---------------------------------------------------------------------------------------------------------------
# The tables and charts the page shows

SHOWN_COLUMNS = ["model", "format label", "size (MB)", "p50 (ms)", "p95 (ms)", "load (s)", "first inference (ms)",
                 "batch-32 items/s", "memory growth (MB)", "metric", "metric value", "metric change",
                 "ECE raw", "ECE calibrated", "smaller than SavedModel (×)", "faster than SavedModel (×)"]
LIVE_COLUMNS = ["model", "format label", "p50 (ms)", "p50 (ms) committed", "p50 now / committed", "p95 (ms)",
                "load (s)", "batch-32 items/s", "memory growth (MB)", "metric", "metric value", "metric change",
                "faster than SavedModel (×)"]
COMMITTED_COLUMNS = ["model", "format", "p50 (ms)", "size (MB)"]


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every measurement, as the page's table shows it."""
    return table[SHOWN_COLUMNS].rename(columns={"format label": "format"}).round(4)


def comparison_models(manifest: dict[str, Any]) -> pd.DataFrame:
    """The comparison models a training run recorded but the app does not serve (the sentiment Transformer), one
    row per format tried: whether it exported, its size, test accuracy and p50 beside the served model's."""
    rows = []
    for name, entry in manifest["models"].items():
        record = entry.get("extra", {}).get("transformer")
        if not record:
            continue
        served = entry["metrics"]["values"]["accuracy"]
        for format_name, figures in record["formats"].items():
            rows.append({
                "model": f"{name}: Transformer encoder", "format": FORMAT_LABELS.get(format_name, format_name),
                "exported": "yes" if figures["exported"] else f"no ({figures['error']})",
                "size (MB)": round(figures["bytes"] / 1e6, 2) if figures["exported"] else None,
                "test accuracy": figures.get("accuracy"),
                "against the served model (points)": round(100 * (figures["accuracy"] - served), 2)
                if figures["exported"] else None,
                "p50, 200 words (ms)": figures.get("p50_200_words_ms"),
            })
    return pd.DataFrame(rows)


def browser_rows(manifest: dict[str, Any]) -> pd.DataFrame:
    """The digits model run in the visitor's browser (``extra.browser``, ``python -m appdriver.browser_bench``):
    the served runtime's row, then any runtime tried beside it, with its error where it could not run."""
    record = manifest["models"].get("digits", {}).get("extra", {}).get("browser")
    if not record:
        return pd.DataFrame()
    rows = [_browser_row(record)]
    rows += [_browser_row(tried) for tried in record.get("compared", {}).values()]
    return pd.DataFrame(rows)


def _browser_row(record: dict[str, Any]) -> dict[str, Any]:
    row = {"in the browser": f"{record['runtime']} {record['version']}", "model file": record.get("format")}
    if "error" in record:
        return {**row, "runs": f"no ({record['error']})"}
    agreement = record["agreement"]
    return {**row, "runs": "yes", "runtime (MB)": round(record["bytes"]["runtime"] / 1e6, 2),
            "model (MB)": round(record["bytes"]["model"] / 1e6, 2), "load (ms)": record["load_ms"],
            "p50 (ms)": record["p50_ms"], "p95 (ms)": record["p95_ms"],
            "same digit as the server": f"{agreement['same_digit']}/{agreement['drawings']}",
            "largest probability difference": agreement["max_probability_difference"]}


def shown_targets(table: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """``target_checks`` as the page's table shows it: one row per model and target, "met" or "missed"."""
    checks = target_checks(table, manifest)
    checks["met"] = checks["met"].map({True: "met", False: "missed"})
    return checks.set_index(["model", "target"])


def compared_with_committed(fresh: pd.DataFrame, committed: pd.DataFrame) -> pd.DataFrame:
    """A live run's rows beside the committed benchmark's p50 for the same model and format, and their ratio."""
    committed = committed[COMMITTED_COLUMNS] if not committed.empty else pd.DataFrame(columns=COMMITTED_COLUMNS)
    merged = fresh.merge(committed, on=["model", "format"], how="left", suffixes=("", " committed"))
    merged["p50 now / committed"] = merged["p50 (ms)"] / merged["p50 (ms) committed"]
    return (merged[LIVE_COLUMNS].rename(columns={"format label": "format", "p50 (ms)": "p50 now (ms)"})
            .round(4))


def machine_caption(results: dict[str, Any]) -> str:
    """When and on what a benchmark ran: its date, CPU, cores, threads per model and library versions."""
    machine, versions = results.get("machine", {}), results.get("versions", {})
    return (f"Measured {results.get('created', '?')} on {machine.get('cpu', '?')} ({machine.get('cores', '?')} cores), "
            f"{results.get('settings', {}).get('threads', '?')} threads per model, "
            + ", ".join(f"{name} {version}" for name, version in versions.items()) + ".")


# The shapes of the overview chart's formats, in FORMAT_LABELS order: fp32 files round, smaller variants angular.
FORMAT_SHAPES = ["circle", "square", "diamond", "triangle-up", "triangle-down", "cross", "triangle-right"]


def metric_reach(table: pd.DataFrame) -> float:
    """Half the width of the metric-change scale: the largest change, but at least one point."""
    measured = table["quality change"].dropna()
    return max(1.0, float(measured.abs().max()) if not measured.empty else 1.0)


def overview_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Every model × format in one chart: file size against batch-1 p50 (both logarithmic), the shape naming the
    format, the colour the metric change against SavedModel (blue better, orange worse, on a colour-blind-safe
    diverging scale); a thin line joins each format to its model's SavedModel point, which carries the name."""
    reach = metric_reach(table)
    data = table.assign(change=table["quality change"].round(3), label=table.apply(metric_change_label, axis=1))
    reference = data[data["format"] == REFERENCE_FORMAT][["model", "size (MB)", "p50 (ms)"]]
    data = data.merge(reference.rename(columns={"size (MB)": "reference size", "p50 (ms)": "reference p50"}),
                      on="model", how="left")
    labels = list(FORMAT_LABELS.values())
    x = alt.X("size (MB):Q", scale=alt.Scale(type="log"), title="file size (MB, log scale)")
    y = alt.Y("p50 (ms):Q", scale=alt.Scale(type="log"), title="batch-1 p50 latency (ms, log scale)")
    base = alt.Chart(data).encode(x=x, y=y)
    spokes = base.mark_rule(color="#9aa5b1", strokeWidth=0.8, opacity=0.7).encode(x2="reference size:Q",
                                                                                  y2="reference p50:Q")
    points = base.mark_point(filled=True, size=120, stroke="#333", strokeWidth=1).encode(
        shape=alt.Shape("format label:N", title="format", sort=labels,
                        scale=alt.Scale(domain=labels, range=FORMAT_SHAPES)),
        color=alt.Color("change:Q", title="metric change vs SavedModel (points)",
                        scale=alt.Scale(scheme="blueorange", reverse=True, domain=[-reach, reach], domainMid=0)),
        tooltip=["model", alt.Tooltip("format label:N", title="format"), alt.Tooltip("size (MB):Q", format=".3f"),
                 alt.Tooltip("p50 (ms):Q", format=".3f"), alt.Tooltip("label:N", title="metric change")],
    )
    names = base.transform_filter(alt.datum.format == REFERENCE_FORMAT).mark_text(
        align="left", dx=9, dy=-9, fontSize=13, fontWeight="bold").encode(text="model:N")
    return (spokes + points + names).properties(height=440).configure_legend(
        orient="bottom", direction="horizontal", columns=3, labelLimit=200, titleLimit=260)


def overview_summary(table: pd.DataFrame) -> str:
    """Three sentences on the whole table: speed against SavedModel, size of the int8 files, metric changes."""
    others = table[table["format"] != REFERENCE_FORMAT].dropna(subset=["faster than SavedModel (×)"])
    fastest = others.loc[others.groupby("model")["p50 (ms)"].idxmin()]
    winner = fastest["format label"].mode().iloc[0]
    wins = int((fastest["format label"] == winner).sum())
    speed = (f"Every model has a format {fastest['faster than SavedModel (×)'].min():.1f}× to "
             f"{fastest['faster than SavedModel (×)'].max():.0f}× faster than SavedModel at batch 1, and "
             f"{winner} is the fastest for {wins} of the {len(fastest)} models.")
    sizes = table.pivot_table(index="model", columns="format", values="size (MB)")
    if {FULL_INT8, FP32_TFLITE} <= set(sizes.columns):
        share = (sizes[FULL_INT8] / sizes[FP32_TFLITE]).dropna()
        size = (f"A full-int8 TFLite file is {share.min():.0%} ({share.idxmin()}) to {share.max():.0%} "
                f"({share.idxmax()}) of the size of the model's fp32 TFLite file.")
    else:
        size = "No full-int8 file was measured beside an fp32 TFLite one."
    changes = table.dropna(subset=["quality change"])
    worst = changes.loc[changes["quality change"].idxmin()] if not changes.empty else None
    if worst is None:
        quality = "No format's metric was measured."
    else:
        within = int((changes["quality change"].abs() <= 0.5).sum())
        quality = (f"{within} of the {len(changes)} measured model × format pairs keep their model's metric within "
                   f"half a point of SavedModel's; the largest loss is {worst['format label']} on {worst['model']} "
                   f"({metric_change_label(worst)}).")
    return " ".join([speed, size, quality])


def quality_heatmap(table: pd.DataFrame) -> alt.LayerChart:
    """Each model × format's ``quality change`` against SavedModel as one cell, coloured on the overview chart's
    scale and labelled with the change; it fits any width."""
    measured = table.dropna(subset=["quality change"]).assign(change=lambda frame: frame["quality change"].round(2))
    reach = metric_reach(table)
    base = alt.Chart(measured).encode(
        x=alt.X("format label:N", title=None, sort=list(FORMAT_LABELS.values()),
                axis=alt.Axis(labelAngle=-35, labelLimit=140)),
        y=alt.Y("model:N", title=None),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color("change:Q", title="points vs SavedModel", legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(scheme="blueorange", reverse=True, domain=[-reach, reach], domainMid=0)),
        tooltip=["model", "format label", "metric", alt.Tooltip("metric value:Q", format=".4f"),
                 alt.Tooltip("quality change:Q", format="+.3f")],
    )
    values = base.mark_text(fontSize=11).encode(text=alt.Text("change:Q", format="+.2f"))
    return (cells + values).properties(height=36 * max(1, measured["model"].nunique()))


# ---------------------------------------------------------------------------------------------------------------
# Capacity: the browser load test and the upload-memory measurement (``python -m showcase.bench --load``).

LOAD_TARGET_SESSIONS = 16
LATENCY_TARGET_SESSIONS = 8
MAX_P95_SECONDS = 3.0
MAX_LOAD_GROWTH_MB = 100.0
MAX_AFTER_DISCONNECT_MB = 30.0
MAX_ONE_UPLOAD_MB = 150.0
MAX_UPLOADS_AT_ONCE_MB = 400.0
MAX_AFTER_UPLOADS_MB = 50.0
NOT_MEASURED = "not measured yet: run `python -m showcase.bench --load`"


def load_rows(benchmarks: dict[str, Any]) -> pd.DataFrame:
    """One row per round of the load test: K concurrent browser sessions against one server."""
    records = []
    for sessions, figures in benchmarks.get("load", {}).get("rounds", {}).items():
        if "skipped" in figures:
            continue
        times, memory = figures["click_to_result_seconds"], figures["resident_mb"]
        records.append({
            "sessions": int(sessions),
            "interactions": figures["interactions"],
            "errors": figures["error_count"],
            "p50 (s)": times["p50"],
            "p95 (s)": times["p95"],
            "max (s)": times["max"],
            "server CPU (%)": figures["server_cpu_percent"],
            "browsers CPU (%)": figures.get("browsers_cpu_percent"),
            "other processes CPU (%)": figures.get("other_cpu_percent"),
            "machine CPU (%)": figures["machine_cpu_percent"],
            "memory before (MB)": memory["before"],
            "memory peak (MB)": memory["peak"],
            "memory growth (MB)": memory["growth"],
            "memory after (MB)": memory["after"],
        })
    return pd.DataFrame(records)


def upload_rows(benchmarks: dict[str, Any]) -> pd.DataFrame:
    """One row per upload measurement: the server's peak memory above what it held just before."""
    uploads = benchmarks.get("upload_memory", {})
    measured = [(f"one upload on {page}", figures) for page, figures in uploads.get("single", {}).items()]
    if "at_once" in uploads:
        at_once = uploads["at_once"]
        measured.append((f"{at_once['uploads']} uploads at once on {at_once['page']}", at_once))
    return pd.DataFrame([{
        "upload": label,
        "memory before (MB)": figures["resident_mb_before"],
        "memory peak (MB)": figures["resident_mb_peak"],
        "added at peak (MB)": figures["added_mb"],
        "what the page showed": "; ".join(sorted(set(figures["outcomes"]))),
    } for label, figures in measured])


def capacity_checks(benchmarks: dict[str, Any]) -> pd.DataFrame:
    """Each capacity target, what was measured, whether it was met, and why not where it was missed."""
    load, uploads = benchmarks.get("load", {}), benchmarks.get("upload_memory", {})
    rounds = load.get("rounds", {})
    cores = load.get("machine", {}).get("cores") or uploads.get("machine", {}).get("cores")
    checks = [
        _errors_check(rounds.get(str(LOAD_TARGET_SESSIONS))),
        _latency_check(rounds.get(str(LATENCY_TARGET_SESSIONS)), cores),
        _growth_check(rounds.get(str(LOAD_TARGET_SESSIONS))),
        _disconnect_check(load.get("after_disconnect")),
    ]
    checks += _upload_checks(uploads)
    if uploads.get("server_errors"):
        checks.append(_check("no server tracebacks during the uploads", f"{len(uploads['server_errors'])}", False,
                             "; ".join(uploads["server_errors"][:3])))
    for name, section in (("load test", load), ("upload measurement", uploads)):
        if "error" in section:
            checks.insert(0, _check(f"the server stays up through the {name}", "it stopped", False, section["error"]))
    # Object columns keep "not measured" as None beside True and False.
    return pd.DataFrame(checks, columns=["target", "measured", "met", "why / note"], dtype=object)


def _unmeasured(target: str, figures: dict[str, Any] | None) -> dict[str, Any]:
    if figures and "skipped" in figures:
        return {"target": target, "measured": "—", "met": None, "why / note": f"skipped: {figures['skipped']}"}
    return _check(target, None, None)


def _check(target: str, measured: str | None, met: bool | None, why: str = "") -> dict[str, Any]:
    if measured is None:
        return {"target": target, "measured": "—", "met": None, "why / note": NOT_MEASURED}
    return {"target": target, "measured": measured, "met": met, "why / note": "" if met else why}


def _measured_round(figures: dict[str, Any] | None) -> bool:
    return bool(figures) and "skipped" not in figures


def _errors_check(figures: dict[str, Any] | None) -> dict[str, Any]:
    target = f"{LOAD_TARGET_SESSIONS} concurrent sessions with 0 errors"
    if not _measured_round(figures):
        return _unmeasured(target, figures)
    count = figures["error_count"]
    why = f"{count} of {figures['interactions']} interactions failed, e.g. {figures['errors'][0]}" if count else ""
    return _check(target, f"{count} errors in {figures['interactions']} interactions", count == 0, why)


def _latency_check(figures: dict[str, Any] | None, cores: int | None) -> dict[str, Any]:
    target = f"p95 click-to-result ≤ {MAX_P95_SECONDS:g} s at {LATENCY_TARGET_SESSIONS} sessions"
    if not _measured_round(figures):
        return _unmeasured(target, figures)
    if figures["click_to_result_seconds"]["p95"] is None:
        first = figures["errors"][0] if figures["errors"] else "no error recorded"
        return _check(target, "no results", False, f"none of the {figures['interactions']} interactions got its "
                      f"result, e.g. {first}")
    times = figures["click_to_result_seconds"]
    return _check(target, f"p95 {times['p95']:.2f} s (p50 {times['p50']:.2f} s, max {times['max']:.2f} s)",
                  times["p95"] <= MAX_P95_SECONDS, f"{_cpu_reason(figures, cores)}; the slowest kind was "
                  f"{_slowest_interaction(figures)}")


def _cpu_reason(figures: dict[str, Any], cores: int | None) -> str:
    """Where the time went, in words, from the round's CPU figures."""
    server, machine = figures["server_cpu_percent"], figures["machine_cpu_percent"]
    sessions = figures["sessions"]
    if machine >= 90:
        shares = f"the server {server:.0f}%"
        if "browsers_cpu_percent" in figures:
            shares += (f", the {sessions} headless Chromium sessions driving it {figures['browsers_cpu_percent']:.0f}%"
                       f" and other processes on the machine {figures['other_cpu_percent']:.0f}%")
        return (f"the machine's {cores or '?'} cores were saturated ({machine:.0f}% busy on average; in percent of "
                f"one core, {shares}), so the server's work waited for a core")
    if server >= 90:
        return (f"the server's process was CPU-bound ({server:.0f}% of one core): Streamlit runs every session's "
                "script in that one Python process, so the sessions' reruns wait for each other")
    return (f"neither the server ({server:.0f}% of one core) nor the machine ({machine:.0f}%) was saturated, so the "
            "time went to waiting rather than computing")


def _slowest_interaction(figures: dict[str, Any]) -> str:
    kinds = {kind: times["p95"] for kind, times in figures.get("by_interaction", {}).items() if times["p95"]}
    if not kinds:
        return "unknown"
    slowest = max(kinds, key=kinds.get)
    return f"{slowest} (p95 {kinds[slowest]:.2f} s)"


def _growth_check(figures: dict[str, Any] | None) -> dict[str, Any]:
    target = f"server memory growth ≤ {MAX_LOAD_GROWTH_MB:.0f} MB with {LOAD_TARGET_SESSIONS} sessions"
    if not _measured_round(figures):
        return _unmeasured(target, figures)
    memory = figures["resident_mb"]
    why = (f"the peak was {memory['peak']:.0f} MB against {memory['before']:.0f} MB before, about "
           f"{memory['growth'] / figures['sessions']:.1f} MB per concurrent session (Streamlit keeps each connected "
           "session's state, uploads and the images it shows in the server's memory)")
    return _check(target, f"+{memory['growth']:.0f} MB (peak {memory['peak']:.0f} MB)",
                  memory["growth"] <= MAX_LOAD_GROWTH_MB, why)


def _disconnect_check(figures: dict[str, Any] | None) -> dict[str, Any]:
    target = f"memory within {MAX_AFTER_DISCONNECT_MB:.0f} MB of the start once disconnected sessions expire"
    if not figures:
        return _check(target, None, None)
    difference = figures["difference_mb"]
    why = (f"{figures['waited_seconds']:.0f} s after {figures['sessions']} sessions disconnected (session TTL "
           f"{figures['disconnected_session_ttl_seconds']:.0f} s) the server held "
           f"{figures['resident_mb_after_wait']:.0f} MB against {figures['resident_mb_before_sessions']:.0f} MB before "
           "them: the memory they used was not handed back to the operating system")
    sessions = f"{figures['sessions']} session" + ("s" if figures["sessions"] != 1 else "")
    measured = f"{difference:+.0f} MB after {figures['waited_seconds']:.0f} s ({sessions})"
    return _check(target, measured, abs(difference) <= MAX_AFTER_DISCONNECT_MB, why)


def _upload_checks(uploads: dict[str, Any]) -> list[dict[str, Any]]:
    decoded = uploads.get("image", {}).get("decoded_mb")
    size = uploads.get("image", {})
    picture = (f"{size['width']}×{size['height']} {size['mode']} PNG of {size['bytes'] / 1e3:.0f} KB"
               if size else "the 40 MP PNG")
    checks = []
    for page, figures in uploads.get("single", {}).items():
        checks.append(_check(
            f"one 40 MP upload on {page} adds ≤ {MAX_ONE_UPLOAD_MB:.0f} MB at peak", f"+{figures['added_mb']:.0f} MB",
            figures["added_mb"] <= MAX_ONE_UPLOAD_MB, _decoding_reason(figures["added_mb"], decoded, picture, 1)))
    if not checks:
        checks.append(_check(f"one 40 MP upload adds ≤ {MAX_ONE_UPLOAD_MB:.0f} MB at peak", None, None))
    at_once = uploads.get("at_once")
    target = f"three 40 MP uploads at once add ≤ {MAX_UPLOADS_AT_ONCE_MB:.0f} MB at peak"
    if at_once:
        checks.append(_check(target, f"+{at_once['added_mb']:.0f} MB on {at_once['page']}",
                             at_once["added_mb"] <= MAX_UPLOADS_AT_ONCE_MB,
                             _decoding_reason(at_once["added_mb"], decoded, picture, at_once["uploads"])))
    else:
        checks.append(_check(target, None, None))
    after = uploads.get("after_close")
    target = f"memory within {MAX_AFTER_UPLOADS_MB:.0f} MB of the start 60 s after the uploads' sessions close"
    if after:
        why = (f"{after['waited_seconds']:.0f} s after the sessions closed the server held {after['resident_mb']:.0f} "
               f"MB against {uploads['resident_mb_start']:.0f} MB at the start: the memory the uploads used was not "
               "handed back to the operating system")
        checks.append(_check(target, f"{after['difference_mb']:+.0f} MB",
                             abs(after["difference_mb"]) <= MAX_AFTER_UPLOADS_MB, why))
    else:
        checks.append(_check(target, None, None))
    return checks


def _decoding_reason(added_mb: float, decoded_mb: float | None, picture: str, uploads: int) -> str:
    """Why an upload cost what it did, judged against the size of the image decoded at full resolution."""
    if not decoded_mb:
        return f"the server's peak rose by {added_mb:.0f} MB"
    share = added_mb / (decoded_mb * uploads)
    held = f"{uploads} × " if uploads > 1 else ""
    if share >= 0.8:
        return (f"{added_mb:.0f} MB is {share:.1f}× the {held}{decoded_mb:.0f} MB of the {picture} decoded at full "
                "size: the whole image is decoded (and copied) before it is reduced")
    return (f"{added_mb:.0f} MB, less than the {held}{decoded_mb:.0f} MB of the {picture} decoded at full size, "
            "is still above the target")


def capacity_captions(benchmarks: dict[str, Any]) -> list[str]:
    """When, where and how long each capacity measurement ran, in one line each."""
    captions = []
    load = benchmarks.get("load")
    if load:
        machine = load.get("machine", {})
        captions.append(f"Load test measured {load.get('created', '?')} on {machine.get('cpu', '?')} "
                        f"({machine.get('cores', '?')} cores), the browsers on the same machine as the server; "
                        f"it took {load.get('duration_seconds', 0):.0f} s.")
    uploads = benchmarks.get("upload_memory")
    if uploads:
        image = uploads.get("image", {})
        captions.append(f"Upload memory measured {uploads.get('created', '?')} on a fresh server with a "
                        f"{image.get('width', '?')}×{image.get('height', '?')} {image.get('mode', '')} PNG of "
                        f"{image.get('bytes', 0) / 1e3:.0f} KB ({image.get('decoded_mb', '?')} MB decoded); "
                        f"it took {uploads.get('duration_seconds', 0):.0f} s.")
    return captions


def missed_targets(checks: pd.DataFrame) -> list[str]:
    """One sentence per capacity target that was measured and missed: the target, the figure, and why."""
    missed = checks[checks["met"].eq(False)]
    return [f"**Missed: {row['target']}** — measured {row['measured']}. {row['why / note'][:1].upper()}"
            f"{row['why / note'][1:]}." for _, row in missed.iterrows()]


def capacity_markdown(benchmarks: dict[str, Any]) -> str:
    """The README's capacity figures as Markdown: the rounds, the uploads and every target, met or missed."""
    lines = ["| sessions | interactions | errors | p50 (s) | p95 (s) | max (s) | CPU: server / browsers / other "
             "processes (% of one core) | memory before → peak (MB) |", "|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in load_rows(benchmarks).to_dict("records"):
        cpu = " / ".join("?" if pd.isna(row[column]) else f"{row[column]:.0f}" for column in
                         ("server CPU (%)", "browsers CPU (%)", "other processes CPU (%)"))
        lines.append(f"| {row['sessions']} | {row['interactions']} | {row['errors']} | {row['p50 (s)']:.2f} | "
                     f"{row['p95 (s)']:.2f} | {row['max (s)']:.2f} | {cpu} | "
                     f"{row['memory before (MB)']:.0f} → {row['memory peak (MB)']:.0f} |")
    lines += ["", "| upload | added at peak (MB) | what the page showed |", "|---|---:|---|"]
    for row in upload_rows(benchmarks).to_dict("records"):
        lines.append(f"| {row['upload']} | {row['added at peak (MB)']:.0f} | {row['what the page showed']} |")
    lines.append("")
    for check in capacity_checks(benchmarks).to_dict("records"):
        if pd.isna(check["met"]):
            lines.append(f"- {check['target']}: not measured")
            continue
        verdict = "met" if check["met"] else "**missed**"
        reason = f" — {check['why / note']}" if check["why / note"] else ""
        lines.append(f"- {check['target']}: {verdict}, {check['measured']}{reason}")
    return "\n".join(lines) + "\n"


# The prediction API's load test (``python -m showcase.bench --api``, appdriver.apiload).
API_TARGET_MODEL = "digits"
API_TARGET_CONCURRENCY = 32
API_TARGET_REQUESTS_PER_SECOND = 400
API_PATH_LABELS = {"uvicorn_1_worker": "uvicorn, 1 worker", "uvicorn_2_workers": "uvicorn, 2 workers",
                   "ray_serve_2_replicas": "Ray Serve, 2 replicas"}


def api_load_rows(benchmarks: dict[str, Any]) -> pd.DataFrame:
    """One row per serving path × model × concurrency of the API's load test."""
    records = []
    for path_name, by_model in benchmarks.get("api_load", {}).get("paths", {}).items():
        for model_name, runs in by_model.items():
            if not isinstance(runs, dict):
                continue
            for key, figures in runs.items():
                records.append({
                    "serving": API_PATH_LABELS.get(path_name, path_name), "model": model_name,
                    "concurrency": int(key.lstrip("c")), "req/s": figures["requests_per_second"],
                    "p50 (ms)": figures["p50_ms"], "p95 (ms)": figures["p95_ms"], "p99 (ms)": figures["p99_ms"],
                    "errors": figures["errors"], "requests": figures["requests"],
                    "at the request cap": figures.get("capped", False),
                })
    return pd.DataFrame(records)


def api_load_sentences(benchmarks: dict[str, Any]) -> list[str]:
    """The target (digits at concurrency 32 through uvicorn, 0 errors), Ray Serve's overhead, the conditions."""
    load = benchmarks.get("api_load")
    if not load:
        return []
    sentences = []
    key = f"c{API_TARGET_CONCURRENCY}"
    for path_name in ("uvicorn_1_worker", "uvicorn_2_workers"):
        figures = load["paths"].get(path_name, {}).get(API_TARGET_MODEL, {}).get(key)
        if figures:
            met = figures["requests_per_second"] >= API_TARGET_REQUESTS_PER_SECOND and figures["errors"] == 0
            sentences.append(
                f"Target {API_TARGET_MODEL} ≥ {API_TARGET_REQUESTS_PER_SECOND} req/s at concurrency "
                f"{API_TARGET_CONCURRENCY} with 0 errors, {API_PATH_LABELS[path_name]}: "
                f"{figures['requests_per_second']:.0f} req/s, {figures['errors']} errors — "
                f"{'met' if met else 'not met'}.")
    ratio = load.get("ray_serve_vs_uvicorn_2_workers", {}).get(f"{API_TARGET_MODEL}_{key}")
    if ratio:
        sentences.append(
            f"Ray Serve (2 replicas) against uvicorn (2 workers), {API_TARGET_MODEL} at concurrency "
            f"{API_TARGET_CONCURRENCY}: {ratio['throughput_ratio']:.2f}× the requests per second, "
            f"{ratio['p95_ratio']:.2f}× the p95 latency.")
    settings = load.get("settings", {})
    sentences.append(
        f"Measured {load.get('created', '?')[:16].replace('T', ' ')} UTC with {settings.get('tool', '?')} on "
        f"loopback, the client on the same {settings.get('cores', '?')} cores as the server, at most "
        f"{settings.get('max_requests', '?')} requests and {settings.get('duration_s', '?')} s per run, one "
        "instance per request; the machine was shared with other work, so the figures are noisy.")
    return sentences
