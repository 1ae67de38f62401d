"""Formats compared: SavedModel vs TFLite variants vs ONNX Runtime — size, speed and accuracy, measured."""

import streamlit as st
import ui

from showcase import format_report, graph_ops, live_benchmark, runtime
from showcase.formats import FORMAT_LABELS, offered_formats, unavailable_formats

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

if table.empty:
    st.info("No benchmark has been committed yet: run `python -m showcase.bench`, or measure below.")
else:
    st.caption(format_report.machine_caption(committed))
    st.subheader("Size against speed, every model and format")
    st.altair_chart(format_report.overview_chart(table), width="stretch")
    st.caption("One point per model and format: further left is smaller, further down is faster (both axes "
               "logarithmic). The shape names the format; the colour is the model's own metric against SavedModel, "
               "blue better and orange worse, pale for no change. Each model's name sits beside its SavedModel point.")
    st.markdown(format_report.overview_summary(table))
    st.subheader("Quantization results against common expectations")
    st.caption(f"Common expectations for the classifiers: a full-int8 file at most "
               f"{format_report.INT8_MAX_SIZE_SHARE:.0%} of fp32's size for at most "
               f"{100 * format_report.INT8_MAX_METRIC_LOSS:.0f} point of accuracy, and a format at least "
               f"{format_report.MIN_SPEEDUP:.0f}× faster than SavedModel.")
    st.table(format_report.shown_targets(table, manifest))
    st.subheader("Per model")
    st.markdown("\n".join(f"- {sentence}" for sentence in format_report.summary(table)))
    st.subheader("Metric change against SavedModel")
    st.caption("Each model's own metric on its fixed evaluation subset, in points (percent of the loss for the "
               "forecast); below zero (orange) is worse.")
    st.altair_chart(format_report.quality_heatmap(table), width="stretch")
    st.subheader("Every measurement")
    st.dataframe(format_report.shown_table(table), hide_index=True, width="stretch")
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


comparisons = format_report.comparison_models(manifest)
if not comparisons.empty:
    st.subheader("Comparison models, not served")
    st.caption("Trained on the same data and split as a served model and measured on the same test set, but not "
               "served: which formats they export to, and their accuracy against the served model's "
               "(docs/sentiment.md).")
    st.dataframe(comparisons, hide_index=True, width="stretch")

in_browser = format_report.browser_rows(manifest)
if not in_browser.empty:
    st.subheader("Digits in your browser")
    record = manifest["models"]["digits"]["extra"]["browser"]
    st.caption(f"The Digits page's \"In your browser\" mode: the committed model file run by a WebAssembly runtime "
               f"in {record['browser']} on this machine ({record['machine'].get('cores', '?')} cores), measured by "
               f"`{record['command']}`: load is from a cold page to the first prediction (runtime and model fetched, "
               "the model's SHA-256 checked, compiled, run once), p50 and p95 are the model alone over "
               f"{record['runs']} runs, agreement is on {record['agreement']['drawings']} canvas drawings against the "
               "server's ONNX Runtime. LiteRT.js, tried on the .tflite file, stops on its dynamic batch dimension, so "
               "the page runs the ONNX file; TensorFlow.js is not used, as its converter cannot be installed beside "
               "TensorFlow 2.21.")
    st.dataframe(in_browser, hide_index=True, width="stretch")


def graph_section(model_name: str) -> None:
    """What the converters did to one model's graph, in op counts read from its committed files."""
    entry = manifest["models"].get(model_name, {})
    record = entry.get("extra", {}).get("graph_ops")
    if not record:
        return
    st.subheader(f"What the converters did to the graph ({entry['title'].lower()})")
    st.write("The same network, counted op by op in each committed file: the SavedModel's serving graph, the "
             "TFLite fp32 and full-int8 files, and the ONNX file before and after ONNX Runtime's load-time rewrite.")
    if not graph_ops.is_current(entry):
        st.warning(f"These counts were read from files that have changed since; `{record['command']}` "
                   "counts them again.")
    st.markdown("\n".join(f"- {sentence}" for sentence in graph_ops.findings(record)))
    st.dataframe(graph_ops.op_table(record), hide_index=True, width="stretch")
    with st.expander("Every op type"):
        st.dataframe(graph_ops.op_table(record, by_role=False), hide_index=True, width="stretch")


graph_section("digits")


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
    st.caption(f"{run.request.description()}. " + format_report.machine_caption(run.results))
    problems = live_benchmark.problems_line(run.results)
    if problems:
        st.warning(problems)
    if not fresh.empty:
        st.dataframe(format_report.compared_with_committed(fresh, table), hide_index=True, width="stretch")
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
        models = st.multiselect("Models", model_names, default=live_benchmark.default_models(model_names),
                                key="formats_models")
        offered, left_out = offered_formats(), unavailable_formats()
        if left_out:
            st.caption("Not measured here: " + " ".join(left_out.values()))
        formats = st.multiselect("Formats", offered, default=live_benchmark.default_formats(offered),
                                 format_func=FORMAT_LABELS.get, key="formats_formats")
        budget = st.select_slider("Time budget", options=live_benchmark.BUDGETS_SECONDS,
                                  value=live_benchmark.DEFAULT_BUDGET_SECONDS, format_func=lambda s: f"{s} s",
                                  key="formats_budget")
        submitted = st.form_submit_button("Run on this machine", type="primary")

    if submitted and (not models or not formats):
        st.warning("Pick at least one model and one format.")
    elif submitted:
        run, started = live_benchmark.LIVE.start(live_benchmark.Request(tuple(models), tuple(formats), float(budget)))
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


def api_load_section() -> None:
    st.subheader("The prediction API under load")
    st.write(
        "`python -m showcase.bench --api` sends the same `:predict` request to the REST API with wrk, at 1, 8 "
        "and 32 concurrent connections, through uvicorn with 1 and 2 workers and through Ray Serve with 2 "
        "replicas (docs/deploy.md)."
    )
    figures = format_report.api_load_rows(committed)
    if figures.empty:
        st.info("The API's load test has not been committed yet: run `python -m showcase.bench --api`.")
        return
    for sentence in format_report.api_load_sentences(committed):
        st.caption(sentence)
    st.dataframe(figures, hide_index=True, width="stretch")


def network_hop_section() -> None:
    """In-process against the REST API (``SHOWCASE_API_URL``), the same format, measured on a click."""
    from showcase.api.client import network_hop

    st.subheader("The network hop: in this process against the REST API")
    st.write(f"This app may use the prediction API at {ui.api_url()} as its backend (\"REST API\" in each page's "
             f"format picker). The button predicts one example {HOP_RUNS} times per model here and as many times "
             "through the API, in the format the API serves, and shows what the hop costs.")
    if not st.button("Measure the network hop", key="formats_network_hop"):
        return
    rows = []
    with st.spinner("Measuring…"):
        for name in HOP_MODELS:
            entry = manifest["models"].get(name)
            if entry is not None:
                remote = ui.remote_predictor_or_stop(name)
                local = ui.load_predictor(name, remote.format_name)
                rows.append(network_hop(name, local, remote, runtime.example_batch(entry, batch_size=1), HOP_RUNS))
    st.dataframe(rows, hide_index=True, width="stretch")


HOP_MODELS = ("digits", "flowers", "sentiment")
HOP_RUNS = 10
api_load_section()
if ui.api_url():
    network_hop_section()
