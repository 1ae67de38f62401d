"""Widgets and layout every page shares: model loading, the format picker, charts, "How this model works".

Pages stay thin: they read inputs, call the ``showcase`` package and hand the results to these helpers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from showcase import calibration, formats, model_cards, paths, runtime
from showcase import manifest as manifest_lib
from showcase.formats import FORMAT_LABELS, TFLITE
from showcase.imaging import ACCEPTED_EXTENSIONS, ImageInputError, read_image
from showcase.tasks.digits import EmptyImageError

DEFAULT_FORMAT = TFLITE
# The format picker's extra choice when SHOWCASE_API_URL names a prediction API (showcase.api): the model runs
# there, in the API's default format, and this server only sends it the batch.
REST_API = "rest_api"


def _use_the_entry_scripts_navigation() -> None:
    """Make a deep link (say /digits) on a freshly started server use ``st.navigation`` too.

    Streamlit treats a ``pages/`` folder beside the entry script as a legacy multipage app until a script has
    called ``st.navigation``: ``PagesManager.__init__`` sets the class attribute ``uses_pages_directory`` from
    whether ``<entry script folder>/pages`` exists, ``st.navigation`` sets it to False, and while it is True the
    script runner runs a deep link's page file alone, under an automatic navigation that lists every file.
    Leaving that mode and rerunning runs the entry script, whose ``st.navigation`` then picks the page.

    Streamlit 1.67 has no public way to do this: ``st.App`` takes no pages option, the config's one navigation
    option (``client.showSidebarNavigation``) only hides the sidebar's list, moving the entry script out of
    ``app/`` would stop Community Cloud from reading ``app/requirements.txt``, and the page files stay in
    ``app/pages/``. So this sets the private attribute, in this one place; tests/unit/test_pages_manager_shim.py
    fails if Streamlit changes underneath it, and tests/e2e/test_deep_link_browser.py proves the deep link.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_data(show_spinner=False)
def _read_manifest(modified: float) -> dict[str, Any]:
    return manifest_lib.load_manifest()


def manifest() -> dict[str, Any]:
    """The model manifest, re-read only when the file changes."""
    modified = paths.MANIFEST_PATH.stat().st_mtime if paths.MANIFEST_PATH.exists() else 0.0
    return _read_manifest(modified)


@st.cache_data(show_spinner=False)
def _read_benchmarks(modified: float) -> dict[str, Any]:
    return json.loads(paths.BENCHMARKS_PATH.read_text()) if modified else {}


def benchmarks() -> dict[str, Any]:
    """The committed benchmark results (``models/benchmarks.json``), or {} before the first run."""
    modified = paths.BENCHMARKS_PATH.stat().st_mtime if paths.BENCHMARKS_PATH.exists() else 0.0
    return _read_benchmarks(modified)


def model_entry_or_stop(name: str) -> dict[str, Any]:
    """The manifest entry of a model, or an explanation on the page (and the page stops) when it is absent."""
    try:
        return manifest_lib.model_entry(name, manifest())
    except (KeyError, ValueError) as error:
        st.error(str(error).strip('"'))
        st.stop()


@st.cache_resource(show_spinner="Loading the model…")
def load_predictor(model_name: str, format_name: str) -> runtime.Predictor:
    """Load a model once per server process and format; every session shares it.

    Streamlit runs each session's script in its own thread, so several threads may call this one predictor at
    once. That is safe: a TFLite predictor lends each call one of a small, bounded pool of LiteRT interpreters
    (an interpreter must not be shared between threads), and ONNX Runtime sessions and SavedModel functions
    are thread-safe themselves. ``tests/model/test_thread_safety.py`` checks every model and format.
    """
    return runtime.load(model_name, format_name)


def api_url() -> str | None:
    """The prediction API this app may use as its backend (``SHOWCASE_API_URL``), or None."""
    from showcase.api.client import URL_VARIABLE

    return os.environ.get(URL_VARIABLE, "").strip() or None


@st.cache_resource(show_spinner="Connecting to the prediction API…")
def load_remote_predictor(model_name: str, url: str):
    """A ``showcase.api.RestPredictor`` shared by every session: each thread keeps its own connection."""
    from showcase.api.client import RestPredictor

    return RestPredictor(url, model_name, api_key=os.environ.get("SHOWCASE_API_KEY") or None)


class StoppingRemotePredictor:
    """A remote predictor whose failure (the API down, or refusing) is a message on the page, not a traceback."""

    def __init__(self, remote):
        self.remote = remote
        self.format_name = remote.format_name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        from showcase.api.client import RemoteError

        try:
            return self.remote.predict(batch)
        except RemoteError as error:
            st.error(str(error), icon=":material/cloud_off:")
            st.stop()


def remote_predictor_or_stop(model_name: str) -> StoppingRemotePredictor:
    from showcase.api.client import RemoteError

    url = api_url()
    if url is None:
        st.error("The REST API is offered only while SHOWCASE_API_URL names one.")
        st.stop()
    try:
        return StoppingRemotePredictor(load_remote_predictor(model_name, url))
    except (RemoteError, ValueError) as error:
        st.error(str(error), icon=":material/cloud_off:")
        st.stop()


def predictor_or_stop(model_name: str, format_name: str) -> runtime.Predictor:
    """The shared predictor of one model and format; a classifier's returns calibrated probabilities.

    The temperature comes from the model's manifest entry (``showcase.calibration``), so every page, the
    sentiment CSV and the GAN page's "read as" show the same calibrated confidences in every format. Through
    the REST API they are those of the format the API serves.
    """
    if format_name == REST_API:
        return calibration.calibrated(remote_predictor_or_stop(model_name), manifest()["models"].get(model_name))
    if not formats.runtime_installed(format_name):
        st.error(f"The {model_name} model cannot run here: {formats.unavailable_reason(format_name, environ={})}")
        st.stop()
    try:
        predictor = load_predictor(model_name, format_name)
    except runtime.ArtifactError as error:
        st.error(str(error))
        st.stop()
    return calibration.calibrated(predictor, manifest()["models"].get(model_name))


def measured_latencies(entry: dict[str, Any]) -> dict[str, float]:
    """Batch-1 p50 latency (ms) per format of this model, from the committed benchmark."""
    measured = benchmarks().get("models", {}).get(entry["name"], {}).get("formats", {})
    return {name: figures["p50_ms"] for name, figures in measured.items()
            if name in entry["artifacts"] and "p50_ms" in figures}


def default_format(entry: dict[str, Any]) -> str:
    """The fastest offered format measured by the committed benchmark; TFLite before any benchmark exists."""
    offered = formats.offered_formats(entry["artifacts"])
    latencies = {name: p50 for name, p50 in measured_latencies(entry).items() if name in offered}
    if latencies:
        return min(latencies, key=latencies.get)
    return DEFAULT_FORMAT if DEFAULT_FORMAT in offered else offered[0]


def offered_formats_or_stop(entry: dict[str, Any]) -> list[str]:
    """The model's formats this server offers; one line on those it leaves out, and the page stops when none is
    left."""
    problem = formats.settings_problem()
    if problem:
        st.warning(problem, icon=":material/settings:")
    offered = formats.offered_formats(entry["artifacts"])
    left_out = formats.unavailable_formats(entry["artifacts"])
    if not offered:
        st.error(f"This server offers no format of the {entry['name']} model: " + " ".join(left_out.values()),
                 icon=":material/block:")
        st.stop()
    if left_out:
        st.caption("Not offered here: " + " ".join(left_out.values()))
    return offered


def format_label(format_name: str) -> str:
    """A format's name in a sentence; the REST API's names the API."""
    if format_name == REST_API:
        return f"the REST API at {api_url()}"
    return FORMAT_LABELS[format_name]


def format_selector(entry: dict[str, Any], key: str) -> str:
    """A select box over the model's serving formats that this server offers, defaulting to the fastest one; plus
    "REST API" while ``SHOWCASE_API_URL`` names a prediction API."""
    options = offered_formats_or_stop(entry)
    latencies = measured_latencies(entry)
    default = default_format(entry)
    if api_url():
        options = [*options, REST_API]

    def label(name: str) -> str:
        if name == REST_API:
            return f"REST API · {api_url()}"
        text = f"{FORMAT_LABELS[name]} · {entry['artifacts'][name]['bytes'] / 1e6:.2f} MB"
        if name in latencies:
            text += f" · p50 {latencies[name]:.2f} ms" + (" (fastest)" if name == default else "")
        return text

    return st.selectbox(
        "Serving format",
        options,
        index=options.index(default),
        format_func=label,
        key=key,
        help="The same trained model, exported several ways; p50 is the batch-1 median latency measured by "
        "`python -m showcase.bench`. SavedModel needs TensorFlow, which the app only imports when you pick it "
        "(its first load takes a few seconds).",
    )


def upload_limit_bytes(max_bytes: int | None = None) -> int:
    """The largest file an uploader takes: Streamlit's ``server.maxUploadSize`` (MB), or the page's own lower limit."""
    limit = int(st.get_option("server.maxUploadSize")) * 2**20
    return limit if max_bytes is None else min(limit, max_bytes)


def upload_rules(types: Sequence[str], max_bytes: int | None = None) -> str:
    """What an uploader accepts, in words: "PNG, JPG or GIF, at most 10 MB"."""
    names = [extension.upper() for extension in types]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    limit = upload_limit_bytes(max_bytes)
    megabytes = limit / 2**20 if limit % 2**20 == 0 else limit / 1e6
    return f"{listed}, at most {megabytes:g} MB"


def file_uploader(label: str, types: Sequence[str], key: str, max_bytes: int | None = None, **kwargs):
    """``st.file_uploader`` with a caption under it that says which files it takes and how large.

    Streamlit's uploader refuses a file of another type or over the size limit in the browser, with only a red
    mark whose reason shows on hover; the caption says the rules up front.
    """
    upload = st.file_uploader(label, type=list(types), key=key, **kwargs)
    st.caption(f"Accepted: {upload_rules(types, max_bytes)}. The uploader refuses any other file (it is marked in "
               "red, the reason on hover) and the file never reaches the model.")
    return upload


def upload_preview(image, caption: str, box: int = 200) -> None:
    """Show an uploaded image fitted into a ``box``×``box`` square.

    The image is scaled here rather than by Streamlit, whose scaling to a width fails on a strip far wider than
    tall (a 40000×1 image would become 200×0) and would stretch a 1×40000 one to 40000 pixels high.
    """
    scale = min(box / image.width, box / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    st.image(image.resize(size, Image.Resampling.NEAREST), caption=caption, width=size[0])


def nothing_uploaded_yet(types: Sequence[str], what: str, max_bytes: int | None = None) -> None:
    """The result panel while an uploader holds nothing usable: maybe nothing was chosen, maybe it was refused."""
    st.info(f"Nothing usable uploaded yet. {what} The uploader takes {upload_rules(types, max_bytes)}; a file it "
            "refused is marked in red beside it.", icon=":material/upload_file:")


def drawing_canvas(key: str, stroke_help: str | None = None):
    """A 280×280 drawing canvas with a stroke-width slider and a clear button.

    Returns the drawing as an RGBA array, or None before anything is drawn. ``key`` keeps the widgets of
    different pages apart.
    """
    from streamlit_drawable_canvas import st_canvas  # Needs a running Streamlit app to register its frontend.

    stroke_width = st.slider("Stroke width", 8, 40, 22, help=stroke_help, key=f"{key}_stroke")
    version_key = f"{key}_canvas_version"
    st.session_state.setdefault(version_key, 0)
    result = st_canvas(
        stroke_width=stroke_width,
        stroke_color="#000000",
        background_color="#FFFFFF",
        width=280,
        height=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{key}_canvas_{st.session_state[version_key]}",
    )
    # A new key gives a fresh, empty canvas.
    if st.button("Clear the canvas", icon=":material/delete:", key=f"{key}_clear"):
        st.session_state[version_key] += 1
        st.rerun()
    return result.image_data if result is not None else None


def image_uploader(label: str, key: str) -> Image.Image | None:
    """An uploader of one image (``ui.file_uploader``, captioned), and a preview of the image it decoded.

    Returns the upright image, or None while nothing is uploaded; raises ``ImageInputError`` for a file that is
    not a usable image.
    """
    upload = file_uploader(label, ACCEPTED_EXTENSIONS, key=key)
    if upload is None:
        return None
    image = read_image(upload.getvalue())
    upload_preview(image, caption="Your upload")
    return image


def no_result_yet(problem: str | None, waiting_for_upload: bool, upload_prompt: str, prompt: str, icon: str) -> None:
    """The result panel while there is no input to run the model on: the problem with it, or what to do.

    ``waiting_for_upload`` says the uploader is the chosen input, which may hold nothing usable yet.
    """
    if problem:
        st.warning(problem, icon=":material/error:")
    elif waiting_for_upload:
        nothing_uploaded_yet(ACCEPTED_EXTENSIONS, upload_prompt)
    else:
        st.info(prompt, icon=icon)


def image_input(
    key: str, readers: dict[str, Callable[[], Any]], prepare: Callable[[Any], Any]
) -> tuple[str, Any, str | None]:
    """A row of input choices (one per reader) and the chosen reader's input, prepared for the model.

    A reader returns None while it has nothing to give (no upload yet). Returns the choice, the prepared input
    (or None) and the problem to show instead of a result (or None): why an upload is not a usable image, or
    why there is nothing to see in it. A blank canvas (the "Draw" choice) is the normal starting point, not a
    mistake: it gets no problem, so that the page shows its prompt.
    """
    source = st.radio("Input", list(readers), horizontal=True, key=key, label_visibility="collapsed")
    try:
        image = readers[source]()
        return source, (None if image is None else prepare(image)), None
    except EmptyImageError as error:
        return source, None, (None if source == "Draw" else str(error))
    except ImageInputError as error:
        return source, None, str(error)


def artifact_or_stop(load: Callable[[], Any]) -> Any:
    """What ``load`` returns (a model's files, say), or its ``ArtifactError`` on the page, which then stops."""
    try:
        return load()
    except runtime.ArtifactError as error:
        st.error(str(error))
        st.stop()


def example_buttons(examples: Mapping[str, str], text_key: str, key_prefix: str) -> None:
    """A row of buttons, one per example, that each fill the text widget keyed ``text_key`` with their text.

    The buttons are keyed ``<key_prefix>_<name>``.
    """
    def fill(name: str) -> None:
        st.session_state[text_key] = examples[name]

    for column, name in zip(st.columns(len(examples)), examples):
        column.button(name, on_click=fill, args=(name,), key=f"{key_prefix}_{name}", width="stretch")


def sample_download_button(path: Path, label: str) -> None:
    """A button that downloads a committed sample CSV under its own name; nothing when the checkout lacks it."""
    if path.exists():
        st.download_button(label, path.read_bytes(), path.name, mime="text/csv", icon=":material/download:")


def captioned_images(images: Sequence[np.ndarray], captions: Sequence[str | None], columns: int) -> None:
    """Images in rows of ``columns``, each with its caption under it (None: no caption), as PNG."""
    for start in range(0, len(images), columns):
        for cell, image, caption in zip(st.columns(columns), images[start:start + columns],
                                        captions[start:start + columns]):
            cell.image(image, caption=caption, output_format="PNG")


def csv_download_button(label: str, table: pd.DataFrame, file_name: str, key: str | None = None) -> None:
    """Every CSV the app writes: formula-like cells neutralised (``showcase.csvfiles``), and a caption saying so."""
    from showcase import csvfiles

    st.download_button(label, csvfiles.safe_csv_bytes(table), file_name=file_name, mime="text/csv",
                       icon=":material/download:", key=key)
    st.caption(csvfiles.SAFE_DOWNLOAD_NOTE)


def latency_caption(milliseconds: float, format_name: str) -> None:
    st.caption(f"This prediction took **{milliseconds:.2f} ms** with {format_label(format_name)}.")


def what_the_model_saw(picture: Image.Image, caption: str, milliseconds: float, format_name: str) -> None:
    """The image the model read, small, with the prediction's latency beside it."""
    picture_column, text = st.columns([1, 2])
    picture_column.image(picture, caption=caption)
    with text:
        latency_caption(milliseconds, format_name)


def probability_chart(labels: Sequence[str], probabilities: np.ndarray, highlight: str | None = None) -> None:
    """A horizontal Altair bar chart of class probabilities, the predicted class highlighted."""
    data = pd.DataFrame({"class": list(labels), "probability": np.asarray(probabilities, dtype=float)})
    data["predicted"] = data["class"] == (highlight or data.loc[data["probability"].idxmax(), "class"])
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("class:N", sort=list(labels), title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.condition("datum.predicted", alt.value("#ff4b4b"), alt.value("#9aa5b1")),
            tooltip=["class", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=max(180, 28 * len(labels)))
    )
    st.altair_chart(chart, width="stretch")


def how_this_model_works(entry: dict[str, Any]) -> None:
    """The shared section at the bottom of every model page, drawn from the manifest alone: the model's card
    (``showcase.model_cards``, committed as ``docs/model_cards/<name>.md``), its artifacts and its calibration."""
    with st.expander("How this model works", expanded=False):
        if entry["name"] in model_cards.PARTS:
            for title, body in model_cards.sections(entry):
                st.markdown(f"**{title}**")
                st.markdown(body)
        else:
            st.markdown(f"**Data.** {entry['data']['description']} Source: {entry['data']['source']} "
                        f"({entry['data']['license']}). **Architecture.** {entry['architecture']}")
        per_format = entry["metrics"].get("per_format")
        rows = []
        for name, record in entry["artifacts"].items():
            row = {"format": FORMAT_LABELS.get(name, name), "size (MB)": round(record["bytes"] / 1e6, 3)}
            row.update((per_format or {}).get(name, {}))
            rows.append(row)
        st.markdown("**Artifacts** (metrics measured on the same held-out split with each format):")
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        if entry.get("calibration"):
            calibration_section(entry)
        if entry.get("ood"):
            ood_section(entry["ood"])
        st.caption(f"This model card is also in the repository as docs/model_cards/{entry['name']}.md, generated "
                   "by `python -m showcase.model_cards`.")


def out_of_distribution(reason: str, detail: str) -> None:
    """The third state of a page's result, shared by every page with an out-of-distribution check: the input is
    refused (``reason``, the check's headline) rather than answered or answered with doubt."""
    st.warning(f"**{reason}** {detail}", icon=":material/block:")


def ood_section(record: dict[str, Any]) -> None:
    """How the page knows when not to answer: the out-of-distribution check's method, threshold and figures.

    The record names what it was measured on (``in_distribution.what``, ``evaluation_set.what``); a flowers record
    written before those keys reads as validation photos and images that are not flowers."""
    figures, reference = record["figures"], record["reference_format"]
    inside = record["in_distribution"].get("what", "validation photos")
    outside = record["evaluation_set"].get("what", "images that are not flowers")
    by_kind = ", ".join(f"{kind.replace('_', ' ')} {share:.0%}" for kind, share in figures["answered_by_kind"].items())
    per_format = f" ({FORMAT_LABELS.get(reference, reference)}; each format has its own)" if record.get(
        "per_format") else ""
    coverage_by_kind = figures.get("coverage_by_kind")
    kept = (" (" + ", ".join(f"{kind.replace('_', ' ')} {share:.1%}" for kind, share in coverage_by_kind.items())
            + ")") if coverage_by_kind else ""
    correct = (f", {figures['accuracy_answered']:.1%} of those correct" if "accuracy_answered" in figures else "")
    st.markdown(
        f"**Knowing when not to answer.** {record['method'][0].upper()}{record['method'][1:]}. Threshold "
        f"{record['threshold']:,.4g}{per_format}: {record['threshold_rule']}. On {record['in_distribution']['n']} "
        f"{inside} and {record['evaluation_set']['n']} {outside}: AUROC {figures['all']['auroc']:.3f}, "
        f"{figures['all']['fpr_at_95_tpr']:.1%} of the {outside} still answered at 95% of the {inside} answered "
        f"(FPR at 95% TPR), {figures['all']['coverage']:.1%} of the {inside} answered{kept}{correct}. Share of the "
        f"{outside} answered by kind: {by_kind}."
    )
    rows = [{"score": name.replace("_", " "), "AUROC": row["auroc"], "FPR at 95% TPR": row["fpr_at_95_tpr"],
             "answered at its threshold": row["coverage"], "others answered": row["ood_answered"]}
            | ({"answered correct": row["accuracy_answered"]} if "accuracy_answered" in row else {})
            for name, row in record["comparison"]["methods"].items()]
    st.caption(f"Scores compared on the same images ({record['comparison']['note']}):")
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def calibration_section(entry: dict[str, Any]) -> None:
    """How far the confidences can be trusted: ECE, Brier and NLL before and after temperature scaling, and a
    reliability diagram per format."""
    record = entry["calibration"]
    reference = record["fitted_on"]["reference_format"]
    st.markdown(
        f"**Calibrated confidences.** The confidences shown are temperature-scaled: the model's logits are divided "
        f"by T ({record['temperature']:.3g} in {FORMAT_LABELS.get(reference, reference)}, "
        f"{'sharper' if record['temperature'] < 1 else 'softer'} than the raw output; each format has its own T "
        f"below), which changes no predicted class. T was fitted on {record['fitted_on']['split']} "
        f"(n = {record['fitted_on']['n']:,}); the figures below are measured on {record['report_split']['split']} "
        f"(n = {record['report_split']['n']:,}). ECE is the gap between confidence and accuracy, averaged over "
        f"{record['bins']} equal-width confidence bins (0 is perfect)."
    )
    rows = [{"format": FORMAT_LABELS.get(name, name), "T": figures["temperature"],
             "ECE before": figures["before"]["ece"], "ECE after": figures["after"]["ece"],
             "Brier before": figures["before"]["brier"], "Brier after": figures["after"]["brier"],
             "NLL before": figures["before"]["nll"], "NLL after": figures["after"]["nll"],
             "accuracy": figures["after"]["accuracy"]}
            for name, figures in record["per_format"].items() if name in entry["artifacts"]]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame(rows), hide_index=True,
                 column_config={"ECE before": percent, "ECE after": percent, "accuracy": percent})
    names = [name for name in entry["artifacts"] if name in record["per_format"]]
    for tab, name in zip(st.tabs([FORMAT_LABELS.get(name, name) for name in names]), names):
        reliability = record["per_format"][name]["reliability"]
        tab.altair_chart(calibration.reliability_chart(reliability["before"], reliability["after"]), width="content")
    st.caption("Reliability diagram: each point is one confidence bin, at its mean confidence and its accuracy; "
               "points on the dashed diagonal are perfectly calibrated, below it over-confident, above it "
               "under-confident. The bars count the items in each bin.")


# Last, once every function above exists: the rerun interrupts this import, and another session's thread that
# imported this module meanwhile keeps the module object as the interrupted import left it.
_use_the_entry_scripts_navigation()
