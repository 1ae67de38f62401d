"""Anomaly detection: an autoencoder that knows handwritten digits flags whatever it cannot reconstruct."""

import streamlit as st
import ui
from PIL import Image

from showcase.tasks import anomaly

st.title("Anomaly detection")
st.write(
    "A convolutional autoencoder learned to squeeze handwritten digits through 32 numbers and rebuild them. "
    "It never saw anything else, so it rebuilds clothes, noise or a scribble badly: the mean squared "
    "reconstruction error is the anomaly score. Images scoring above a threshold — the 99th percentile of "
    "held-out digits' scores — are flagged. Drawings and photos first go through the Digits page's MNIST "
    "recipe (crop to the ink, scale to 20 px, centre); 28×28 greyscale images are already in MNIST's layout and "
    "are used as they are. Before that, the uploaded image's ink is checked against the ink of handwritten digits, "
    "as on the Digits page: an image that fails is flagged too."
)
entry = ui.model_entry_or_stop("anomaly")


def canvas_image():
    return ui.drawing_canvas("anomaly")


def uploaded_image():
    return ui.image_uploader("An image (a digit, or anything else)", key="anomaly_upload")


def sample_image():
    choices = anomaly.sample_choices()
    label = st.selectbox("Sample", list(choices), key="anomaly_sample")
    return Image.open(choices[label])


left, right = st.columns(2, gap="large")
with left:
    readers = {"Draw": canvas_image, "Upload an image": uploaded_image, "Samples": sample_image}
    source, prepared, problem = ui.image_input("anomaly_input", readers,
                                               lambda image: anomaly.prepare_checked(image, entry))
    corruption = st.selectbox(
        "Corrupt the input", anomaly.CORRUPTIONS, key="anomaly_corruption",
        help="The corruptions the model's detection quality was measured on (see “How this model works”).",
    )

result = None
with right:
    format_name = ui.format_selector(entry, key="anomaly_format")
    if problem or prepared is None:
        ui.no_result_yet(problem, source == "Upload an image", "Upload an image to see how well the autoencoder "
                         "rebuilds it.", "Draw on the canvas, upload an image, or pick a sample to see how well the "
                         "autoencoder rebuilds it.", icon=":material/draw:")
    else:
        detector = anomaly.AnomalyDetector(ui.predictor_or_stop("anomaly", format_name), entry)
        image, used_recipe, check = prepared
        result = detector.score_prepared(image, used_recipe, corruption, check)
        if not result.in_distribution:
            ui.out_of_distribution(result.reason, "Before the autoencoder even sees it, its ink looks unlike that of "
                                   "handwritten digits (too much of it, in too many pieces, shaded, coloured or "
                                   "reaching the edges), so it is flagged whatever its score.")
        verdict, number = st.columns(2)
        verdict.markdown("### :orange[Anomaly]" if result.anomaly else "### :blue[Looks like a digit]")
        number.metric("Anomaly score", f"{result.score:.4f}", help="Mean squared difference between the input and "
                      "its reconstruction, over the 28×28 pixels.")
        verdict.caption(f"Score {result.score / result.threshold:.2f}× the threshold.")
        columns = st.columns(3)
        columns[0].image(anomaly.picture(result.image),
                         caption="Input after the MNIST recipe" if result.used_recipe else "Input (28×28, as is)")
        columns[1].image(anomaly.picture(result.reconstruction), caption="Reconstruction")
        columns[2].image(anomaly.picture(result.heat_map()),
                         caption=f"Squared error (bright = {result.heat_map_top:.2f})")
        ui.latency_caption(result.milliseconds, format_name)
        st.caption(f"Threshold for this format: {result.threshold:.5f} ({entry['extra']['threshold_rule']}).")

if result is not None:
    st.altair_chart(anomaly.score_histogram(entry["extra"]["histograms"], result.threshold, result.score),
                    width="stretch")

ui.how_this_model_works(entry)
