"""Anomaly detection: an autoencoder that knows handwritten digits flags whatever it cannot reconstruct."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import ui
from PIL import Image

from showcase import paths
from showcase.imaging import ACCEPTED_EXTENSIONS, ImageInputError, read_image
from showcase.tasks import anomaly
from showcase.tasks.digits import EmptyImageError, to_model_input

INPUTS = ("Draw", "Upload an image", "Samples")
CORRUPTIONS = ("None", "Gaussian noise", "Occlusion blocks", "Inverted colours")
# The heat map's colour scale tops out at the largest error, but never below this, so that a well
# reconstructed digit looks dark rather than having its small errors stretched to full brightness.
HEAT_MAP_FLOOR = 0.25
PICTURE_SIZE = 140

st.title("Anomaly detection")
st.write(
    "A convolutional autoencoder learned to squeeze handwritten digits through 32 numbers and rebuild them. "
    "It never saw anything else, so it rebuilds clothes, noise or a scribble badly: the mean squared "
    "reconstruction error is the anomaly score. Images scoring above a threshold — the 99th percentile of "
    "held-out digits' scores — are flagged. Drawings and photos first go through the Digits page's MNIST "
    "recipe (crop to the ink, scale to 20 px, centre); 28×28 greyscale images are already in MNIST's layout and "
    "are used as they are."
)
entry = ui.model_entry_or_stop("anomaly")


def sample_choices() -> dict[str, object]:
    """Built-in samples: an MNIST test digit (from the Digits samples, when present), a fashion item, noise."""
    choices = {}
    digit_samples = sorted((paths.SAMPLES_DIR / "digits").glob("*.png"))
    if digit_samples:
        path = digit_samples[min(3, len(digit_samples) - 1)]
        choices[f"A handwritten digit (MNIST test #{path.stem.split('_')[-1]})"] = path
    anomaly_dir = paths.SAMPLES_DIR / "anomaly"
    choices["A fashion item (Fashion-MNIST test #0)"] = anomaly_dir / "fashion_mnist_test_0.png"
    choices["Pure noise"] = anomaly_dir / "uniform_noise.png"
    return choices


def canvas_image():
    return ui.drawing_canvas("anomaly")


def uploaded_image():
    upload = ui.file_uploader("An image (a digit, or anything else)", ACCEPTED_EXTENSIONS, key="anomaly_upload")
    if upload is None:
        return None
    image = read_image(upload.getvalue())
    ui.upload_preview(image, caption="Your upload")
    return image


def sample_image():
    choices = sample_choices()
    label = st.selectbox("Sample", list(choices), key="anomaly_sample")
    return Image.open(choices[label])


def corrupt(prepared: np.ndarray, corruption: str) -> np.ndarray:
    """Apply one of the evaluation's corruptions (fixed seed, so the picture does not flicker on reruns)."""
    rng = np.random.default_rng(0)
    if corruption == "Gaussian noise":
        return anomaly.gaussian_noise(prepared, rng)[0]
    if corruption == "Occlusion blocks":
        return anomaly.occlusion_blocks(prepared, rng)[0]
    if corruption == "Inverted colours":
        return anomaly.invert(prepared)[0]
    return prepared


def picture(pixels: np.ndarray) -> Image.Image:
    """A 28×28 array (grey in [0, 1], or RGB uint8) enlarged with visible pixels."""
    array = pixels if pixels.dtype == np.uint8 else (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(array).resize((PICTURE_SIZE, PICTURE_SIZE), Image.Resampling.NEAREST)


def score_histogram(histograms: dict, threshold: float, score: float) -> alt.LayerChart:
    """Validation digits' (and Fashion-MNIST's) scores on log-spaced bins, the threshold and this score."""
    names = {"validation_digits": "validation digits", "fashion_mnist": "Fashion-MNIST test images"}
    rows = []
    for key, label in names.items():
        edges, counts = histograms[key]["edges"], histograms[key]["counts"]
        rows += [{"from": edges[i], "to": edges[i + 1], "images": count, "set": label} for i, count in enumerate(counts)]
    low, high = histograms["validation_digits"]["edges"][0], histograms["validation_digits"]["edges"][-1]
    x_scale = alt.Scale(type="log", domain=[low, high])
    bars = alt.Chart(pd.DataFrame(rows)).mark_rect(opacity=0.65).encode(
        x=alt.X("from:Q", scale=x_scale, title="anomaly score (mean squared reconstruction error, log scale)"),
        x2="to:Q",
        y=alt.Y("images:Q", title="images per bin"),
        y2=alt.datum(0),
        color=alt.Color("set:N", title=None, scale=alt.Scale(domain=list(names.values()), range=["#4c78a8", "#bab0ac"]),
                        legend=alt.Legend(orient="top", labelLimit=300)),
        tooltip=["set", alt.Tooltip("from:Q", format=".4f"), alt.Tooltip("to:Q", format=".4f"), "images"],
    )
    labels = [f"threshold {threshold:.4f}", f"this image {score:.4f}"]
    marks = pd.DataFrame({"score": [threshold, float(np.clip(score, low, high))], "what": labels})
    rules = alt.Chart(marks).mark_rule(strokeWidth=3).encode(
        x=alt.X("score:Q", scale=x_scale),
        color=alt.Color("what:N", title=None, scale=alt.Scale(domain=labels, range=["#222222", "#ff4b4b"]),
                        legend=alt.Legend(orient="top", labelLimit=300)),
        strokeDash=alt.StrokeDash("what:N", scale=alt.Scale(domain=labels, range=[[6, 4], [1, 0]]), legend=None),
        tooltip=["what"],
    )
    return alt.layer(bars, rules).resolve_scale(color="independent").properties(height=240)


left, right = st.columns(2, gap="large")
with left:
    source = st.radio("Input", INPUTS, horizontal=True, key="anomaly_input", label_visibility="collapsed")
    prepared, problem, used_recipe = None, None, False
    try:
        image = {"Draw": canvas_image, "Upload an image": uploaded_image, "Samples": sample_image}[source]()
        if image is not None:
            prepared, used_recipe = anomaly.prepare_input(image)
    except EmptyImageError as error:
        # A blank canvas is the normal starting point, not a mistake: it gets the prompt on the right.
        problem = None if source == "Draw" else str(error)
    except ImageInputError as error:
        problem = str(error)
    corruption = st.selectbox(
        "Corrupt the input", CORRUPTIONS, key="anomaly_corruption",
        help="The corruptions the model's detection quality was measured on (see “How this model works”).",
    )

with right:
    format_name = ui.format_selector(entry, key="anomaly_format")
    if problem:
        st.warning(problem, icon=":material/error:")
    elif prepared is None and source == "Upload an image":
        ui.nothing_uploaded_yet(ACCEPTED_EXTENSIONS, "Upload an image to see how well the autoencoder rebuilds it.")
    elif prepared is None:
        st.info("Draw on the canvas, upload an image, or pick a sample to see how well the autoencoder "
                "rebuilds it.", icon=":material/draw:")
    else:
        model_input = to_model_input(corrupt(prepared, corruption))
        predictor = ui.predictor_or_stop("anomaly", format_name)
        reconstruction, milliseconds = ui.timed_predict(predictor, model_input)
        score = float(anomaly.reconstruction_error(model_input, reconstruction)[0])
        extra = entry["extra"]
        threshold = float(extra["per_format_threshold"].get(format_name, extra["threshold"]))
        errors = anomaly.error_map(model_input, reconstruction)[0]
        flagged = bool(anomaly.is_anomaly(score, threshold))

        verdict, number = st.columns(2)
        verdict.markdown("### :red[Anomaly]" if flagged else "### :green[Looks like a digit]")
        number.metric("Anomaly score", f"{score:.4f}", help="Mean squared difference between the input and its "
                      "reconstruction, over the 28×28 pixels.")
        verdict.caption(f"Score {score / threshold:.2f}× the threshold.")
        columns = st.columns(3)
        columns[0].image(picture(model_input[0, ..., 0]),
                         caption="Input after the MNIST recipe" if used_recipe else "Input (28×28, as is)")
        columns[1].image(picture(reconstruction[0, ..., 0]), caption="Reconstruction")
        top = max(float(errors.max()), HEAT_MAP_FLOOR)
        columns[2].image(picture(anomaly.heat_map_rgb(errors, top)), caption=f"Squared error (bright = {top:.2f})")
        ui.latency_caption(milliseconds, format_name)
        st.caption(f"Threshold for this format: {threshold:.5f} ({extra['threshold_rule']}).")

if prepared is not None and not problem:
    st.altair_chart(score_histogram(extra["histograms"], threshold, score), width="stretch")

ui.how_this_model_works(entry)
