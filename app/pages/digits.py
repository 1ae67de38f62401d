"""Digits: draw a digit (or upload a photo of one) and watch a small CNN read it."""

import browser_digits
import streamlit as st
import ui
from PIL import Image

from showcase.tasks import digits

st.title("Handwritten digits")
st.write(
    "Draw a digit from 0 to 9, or upload a photo of one. The image is cropped to the ink, scaled to 20 pixels "
    "and centred on its centre of mass in a 28×28 field — the recipe MNIST was made with — then read by a "
    "small convolutional network."
)
entry = ui.model_entry_or_stop("digits")
in_browser = st.toggle("Run the model in your browser", key="digits_in_browser",
                       help="The same model file (ONNX) runs in this page with onnxruntime-web on WebAssembly and "
                       "reads your drawing on every stroke; nothing you draw is sent unless you ask the server.")


def canvas_image():
    return ui.drawing_canvas("digits", stroke_help="Thicker strokes are fine: the model was trained on digits "
                             "with randomly thickened and thinned strokes.")


def uploaded_image():
    return ui.image_uploader("A photo or scan of one digit", key="digits_upload")


def sample_image():
    choice = st.selectbox("Sample", digits.sample_paths(), format_func=digits.sample_name, key="digits_sample")
    return None if choice is None else Image.open(choice)


def show_reading(prepared, format_name: str) -> None:
    """The server's reading of a prepared image: the digit and its probabilities, or the third state."""
    result = digits.DigitClassifier(ui.predictor_or_stop("digits", format_name), entry).classify_prepared(*prepared)
    if result.in_distribution:
        st.metric("Prediction", result.answer, f"{result.confidence:.1%} confident", delta_color="off",
                  delta_arrow="off")
        ui.probability_chart(entry["labels"], result.probabilities)
    else:
        ui.out_of_distribution(result.reason, "Its ink looks unlike that of handwritten digits (too much of it, in "
                               "too many pieces, shaded, coloured or reaching the edges), so the model reads nothing "
                               f"in it. The check lets through {entry['ood']['figures']['all']['coverage']:.0%} of "
                               "test digits, drawn or photographed.")
    ui.what_the_model_saw(result.picture(), "What the model saw (28×28)", result.milliseconds, format_name)


def server_mode() -> None:
    """Draw, upload or pick a digit; the server reads it in the chosen format."""
    left, right = st.columns(2, gap="large")
    with left:
        readers = {"Draw": canvas_image, "Upload a photo": uploaded_image, "MNIST test samples": sample_image}
        source, prepared, problem = ui.image_input("digits_input", readers,
                                                   lambda image: digits.prepare_checked(image, entry))
    with right:
        format_name = ui.format_selector(entry, key="digits_format")
        if problem or prepared is None:
            ui.no_result_yet(problem, source == "Upload a photo", "Upload a photo or scan of one digit to see the "
                             "prediction.", "Draw a digit on the canvas, upload a photo, or pick a sample to see the "
                             "prediction.", icon=":material/draw:")
        else:
            show_reading(prepared, format_name)


if not in_browser or browser_digits.browser_mode(entry) is False:
    server_mode()

ui.how_this_model_works(entry)
