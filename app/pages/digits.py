"""Digits: draw a digit (or upload a photo of one) and watch a small CNN read it."""


import numpy as np
import streamlit as st
import ui
from PIL import Image

from showcase import paths
from showcase.imaging import ACCEPTED_EXTENSIONS, ImageInputError, read_image
from showcase.tasks.digits import EmptyImageError, prepare_digit, to_model_input

INPUTS = ("Draw", "Upload a photo", "MNIST test samples")
SAMPLE_DIR = paths.SAMPLES_DIR / "digits"

st.title("Handwritten digits")
st.write(
    "Draw a digit from 0 to 9, or upload a photo of one. The image is cropped to the ink, scaled to 20 pixels "
    "and centred on its centre of mass in a 28×28 field — the recipe MNIST was made with — then read by a "
    "small convolutional network."
)
entry = ui.model_entry_or_stop("digits")


def canvas_image():
    return ui.drawing_canvas("digits", stroke_help="Thicker strokes are fine: the model was trained on digits "
                             "with randomly thickened and thinned strokes.")


def uploaded_image():
    upload = ui.file_uploader("A photo or scan of one digit", ACCEPTED_EXTENSIONS, key="digits_upload")
    if upload is None:
        return None
    image = read_image(upload.getvalue())
    ui.upload_preview(image, caption="Your upload")
    return image


def sample_image():
    samples = sorted(SAMPLE_DIR.glob("*.png"))
    choice = st.selectbox("Sample", samples, format_func=lambda path: f"digit {path.name.split('_')[0]} "
                          f"(MNIST test #{path.stem.split('_')[-1]})", key="digits_sample")
    return None if choice is None else Image.open(choice)


left, right = st.columns(2, gap="large")
with left:
    source = st.radio("Input", INPUTS, horizontal=True, key="digits_input", label_visibility="collapsed")
    prepared, problem = None, None
    try:
        image = {"Draw": canvas_image, "Upload a photo": uploaded_image, "MNIST test samples": sample_image}[source]()
        prepared = None if image is None else prepare_digit(image)
    except EmptyImageError as error:
        # A blank canvas is the normal starting point, not a mistake: it gets the prompt below.
        problem = None if source == "Draw" else str(error)
    except ImageInputError as error:
        problem = str(error)

with right:
    format_name = ui.format_selector(entry, key="digits_format")
    if problem:
        st.warning(problem, icon=":material/error:")
    elif prepared is None and source == "Upload a photo":
        ui.nothing_uploaded_yet(ACCEPTED_EXTENSIONS, "Upload a photo or scan of one digit to see the prediction.")
    elif prepared is None:
        st.info("Draw a digit on the canvas, upload a photo, or pick a sample to see the prediction.",
                icon=":material/draw:")
    else:
        predictor = ui.predictor_or_stop("digits", format_name)
        probabilities, milliseconds = ui.timed_predict(predictor, to_model_input(prepared))
        probabilities = probabilities[0]
        digit = int(np.argmax(probabilities))
        st.metric("Prediction", f"{digit}", f"{probabilities[digit]:.1%} confident", delta_color="off", delta_arrow="off")
        ui.probability_chart(entry["labels"], probabilities)
        picture, text = st.columns([1, 2])
        picture.image(Image.fromarray((prepared * 255).astype(np.uint8)).resize((112, 112), Image.Resampling.NEAREST),
                      caption="What the model saw (28×28)")
        with text:
            ui.latency_caption(milliseconds, format_name)

ui.how_this_model_works(entry)
