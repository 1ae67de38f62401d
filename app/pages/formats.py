"""Formats compared: SavedModel vs TFLite variants vs ONNX Runtime — size, speed and accuracy, measured."""

import altair as alt
import pandas as pd
import streamlit as st
import ui

from showcase import format_report, live_benchmark
from showcase.formats import FORMAT_LABELS, ONNX, SAVEDMODEL, TFLITE, offered_formats, unavailable_formats

LIVE_BUDGETS_SECONDS = (20, 60, 120, 300)
SHOWN_COLUMNS = ["model", "format label", "size (MB)", "p50 (ms)", "p95 (ms)", "load (s)", "first inference (ms)",
                 "batch-32 items/s", "memory growth (MB)", "metric", "metric value", "metric change",
                 "ECE raw", "ECE calibrated", "smaller than SavedModel (×)", "faster than SavedModel (×)"]

st.title("Formats compared")
st.write(
    "Every model exported to SavedModel (TensorFlow), TFLite (LiteRT) in fp32, fp16, dynamic-range int8 and "
    "full int8, and ONNX (ONNX Runtime) in fp32 and int8 — measured for file size, batch-1 latency, "
    "throughput, memory and the model's own metric on a fixed evaluation subset, against SavedModel. The other "
    "pages serve the committed formats; fp16, dynamic-range and ONNX int8 are built on demand for this page."
)
manifest = ui.manifest()
committed = ui.benchmarks()
table = format_report.rows(committed, manifest)


def size_latency_chart(data: pd.DataFrame) -> alt.FacetChart:
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=90)
        .encode(
            x=alt.X("size (MB):Q", scale=alt.Scale(type="log"), title="file size (MB, log)"),
            y=alt.Y("p50 (ms):Q", scale=alt.Scale(type="log"), title="batch-1 p50 (ms, log)"),
            color=alt.Color("format label:N", title="format", sort=list(FORMAT_LABELS.values())),
            tooltip=["model", "format label", alt.Tooltip("size (MB):Q", format=".3f"),
                     alt.Tooltip("p50 (ms):Q", format=".3f"), alt.Tooltip("p95 (ms):Q", format=".3f")],
        )
        .properties(width=190, height=170)
        .facet(facet=alt.Facet("model:N", title=None), columns=3)
        .resolve_scale(x="independent", y="independent")
        .configure_legend(orient="bottom", columns=4)
    )


def quality_chart(data: pd.DataFrame) -> alt.FacetChart:
    measured = data.dropna(subset=["quality change"])
    # One scale for every model, at least ±1 point wide, so that a change of a few hundredths looks as small as it is.
    reach = max(1.0, float(measured["quality change"].abs().max()) if not measured.empty else 1.0)
    return (
        alt.Chart(measured)
        .mark_bar()
        .encode(
            x=alt.X("quality change:Q", title="change vs SavedModel", scale=alt.Scale(domain=[-reach, reach])),
            y=alt.Y("format label:N", title=None, sort=list(FORMAT_LABELS.values())),
            color=alt.condition("datum['quality change'] < 0", alt.value("#e45756"), alt.value("#4c78a8")),
            tooltip=["model", "format label", "metric", alt.Tooltip("metric value:Q", format=".4f"),
                     alt.Tooltip("quality change:Q", format="+.3f")],
        )
        .properties(width=150, height=150)
        .facet(facet=alt.Facet("model:N", title=None), columns=3)
    )


def formatted(data: pd.DataFrame) -> pd.DataFrame:
    return data[SHOWN_COLUMNS].rename(columns={"format label": "format"}).round(4)


def machine_caption(results: dict) -> str:
    machine, versions = results.get("machine", {}), results.get("versions", {})
    return (f"Measured {results.get('created', '?')} on {machine.get('cpu', '?')} ({machine.get('cores', '?')} cores), "
            f"{results.get('settings', {}).get('threads', '?')} threads per model, "
            + ", ".join(f"{name} {version}" for name, version in versions.items()) + ".")


if table.empty:
    st.info("No benchmark has been committed yet: run `python -m showcase.bench`, or measure below.")
else:
    st.caption(machine_caption(committed))
    st.subheader("In short")
    st.markdown("\n".join(f"- {sentence}" for sentence in format_report.summary(table)))

    st.subheader("Targets for the classifiers")
    checks = format_report.target_checks(table, manifest)
    checks["met"] = checks["met"].map({True: "met", False: "missed"})
    st.table(checks.set_index(["model", "target"]))

    st.subheader("Size vs batch-1 latency")
    st.caption("One point per format; down and to the left is better. Both axes are logarithmic.")
    st.altair_chart(size_latency_chart(table))
    st.subheader("Metric change against SavedModel")
    st.caption("Each model's own metric on its fixed evaluation subset, in points (percent of the loss for the "
               "forecast); below zero is worse.")
    st.altair_chart(quality_chart(table))
    st.subheader("Every measurement")
    st.dataframe(formatted(table), hide_index=True, width="stretch")
    with st.expander("What the columns mean"):
        st.markdown(
            "- **p50 / p95**: batch-1 latency percentiles after a warm-up, "
            f"{committed.get('settings', {}).get('runs', '?')} timed runs, fixed thread count.\n"
            "- **load** includes importing the runtime (TensorFlow for SavedModel) in a fresh process; "
            "**memory growth** is that process's resident memory after loading and running the model.\n"
            "- **metric** is the model's own: accuracy (classifiers, GAN digits read correctly), ROC-AUC "
            "(anomaly, digits vs Fashion-MNIST), pinball loss (forecast, lower is better), measured "
            "with each format on the same fixed subset as SavedModel."
        )

def watch_live_run(run_id: int) -> None:
    """The running benchmark's status and progress, refreshed every second; a full rerun when it ends."""
    run = live_benchmark.LIVE.run(run_id)
    if run is None or not run.running:
        st.rerun()
    st.info(f"{run.status_text()} It measures {run.request.description()}.")
    st.progress(run.fraction_done(), text=run.progress[2])


def show_live_results(run: live_benchmark.Run) -> None:
    if run.error:
        st.error(run.error)
    if not run.results:
        return
    fresh = format_report.rows(run.results, manifest)
    st.caption(f"{run.request.description()}. " + machine_caption(run.results))
    problems = live_benchmark.problems_line(run.results)
    if problems:
        st.warning(problems)
    if not fresh.empty:
        merged = fresh.merge(table[["model", "format", "p50 (ms)", "size (MB)"]] if not table.empty else
                             pd.DataFrame(columns=["model", "format", "p50 (ms)", "size (MB)"]),
                             on=["model", "format"], how="left", suffixes=("", " committed"))
        merged["p50 now / committed"] = merged["p50 (ms)"] / merged["p50 (ms) committed"]
        st.dataframe(
            merged[["model", "format label", "p50 (ms)", "p50 (ms) committed", "p50 now / committed", "p95 (ms)",
                    "load (s)", "batch-32 items/s", "memory growth (MB)", "metric", "metric value", "metric change",
                    "faster than SavedModel (×)"]].rename(columns={"format label": "format", "p50 (ms)": "p50 now (ms)"})
            .round(4),
            hide_index=True, width="stretch",
        )
        st.markdown("\n".join(f"- {sentence}" for sentence in format_report.summary(fresh)))


def live_run_section() -> None:
    st.write(
        "Re-measure the models and formats you pick, here and now, and compare with the committed numbers. "
        "Each format runs in its own process (the app never loads TensorFlow); variants that are not built yet "
        "are built first with the TensorFlow converter (up to a minute per model). One run at a time on this "
        "server: while one runs, every visitor watches it."
    )
    with st.form("live_run"):
        model_names = list(manifest["models"])
        models = st.multiselect("Models", model_names,
                                default=["digits"] if "digits" in model_names else model_names[:1],
                                key="formats_models")
        offered = offered_formats()
        left_out = unavailable_formats()
        if left_out:
            st.caption("Not measured here: " + " ".join(left_out.values()))
        formats = st.multiselect("Formats", offered,
                                 default=[name for name in (SAVEDMODEL, TFLITE, ONNX) if name in offered],
                                 format_func=FORMAT_LABELS.get, key="formats_formats")
        budget = st.select_slider("Time budget", options=LIVE_BUDGETS_SECONDS, value=60,
                                  format_func=lambda s: f"{s} s", key="formats_budget")
        submitted = st.form_submit_button("Run on this machine", type="primary")

    if submitted:
        if not models or not formats:
            st.warning("Pick at least one model and one format.")
        else:
            request = live_benchmark.Request(tuple(models), tuple(formats), float(budget))
            run, started = live_benchmark.LIVE.start(request)
            st.session_state["live_run_id"] = run.id
            if not started:
                st.caption("Your choice did not start a second run: you are watching the one in progress, "
                           "and its results will show here when it ends.")

    active = live_benchmark.LIVE.active()
    if active is not None:
        # Whoever sees a run in progress also sees its results once it ends.
        st.session_state["live_run_id"] = active.id
        st.fragment(watch_live_run, run_every=1.0)(active.id)
        return
    watched = live_benchmark.LIVE.run(st.session_state.get("live_run_id"))
    if watched is not None:
        show_live_results(watched)


st.subheader("Run on this machine")
live_disabled = live_benchmark.disabled_reason()
if live_disabled:
    st.info(live_disabled)
else:
    live_run_section()

st.subheader("Capacity: many visitors at once, and large uploads")
st.write(
    "`python -m showcase.bench --load` starts one server and drives it with K headless Chromium sessions at once "
    "(K = 1, 4, 8, 16). Each session picks a Flowers sample, scores a Sentiment review and draws a digit; "
    "click-to-result is the time from the click (or the last stroke) to the result on the page. Then the server's "
    "memory is measured again once the disconnected sessions have expired, and, on a fresh server, the peak memory "
    "that one 40-megapixel PNG upload adds on each page that takes images, and three at once on Digits."
)
capacity_checks = format_report.capacity_checks(committed)
for capacity_caption in format_report.capacity_captions(committed):
    st.caption(capacity_caption)
for table_of_figures in (format_report.load_rows(committed), format_report.upload_rows(committed)):
    if not table_of_figures.empty:
        st.dataframe(table_of_figures, hide_index=True, width="stretch")
st.dataframe(capacity_checks, hide_index=True, width="stretch",
             column_config={"met": st.column_config.CheckboxColumn("met")})
for sentence in format_report.missed_targets(capacity_checks):
    st.warning(sentence, icon=":material/warning:")
