"""Home: what the showcase is, and one card per trained model read from the manifest."""

from pathlib import Path

import streamlit as st
import ui

from showcase.formats import FORMAT_LABELS

st.title("TensorFlow model showcase")
st.markdown(
    "Small TensorFlow models trained from scratch or by transfer learning on public data, each served in "
    "three formats — **SavedModel** (TensorFlow), **TFLite** (LiteRT) and **ONNX** (ONNX Runtime). "
    "Every number on these pages comes from a held-out evaluation written by the model's training script; "
    "latencies are measured live on the machine serving this app."
)
pages = {path.stem for path in Path(__file__).parent.glob("*.py")}
if "formats" in pages:
    st.page_link("pages/formats.py", label="How the formats compare: size, speed and accuracy of every model in "
                 "seven formats, re-measurable on this machine", icon=":material/speed:")

models = ui.manifest()["models"]
if not models:
    st.info("No model has been trained yet. Run `python training/train_digits.py` to add the first one.")

columns = st.columns(min(3, max(1, len(models))))
for index, entry in enumerate(models.values()):
    metrics = entry["metrics"]
    headline = metrics["values"].get(metrics["headline"])
    with columns[index % len(columns)].container(border=True):
        st.subheader(entry["title"])
        st.caption(entry["task"])
        st.write(entry["summary"])
        if headline is not None:
            value = f"{headline:.2%}" if 0 <= headline <= 1 else f"{headline:.3g}"
            st.metric(f"{metrics['headline'].replace('_', ' ')} · {metrics['dataset']} {metrics['split']}", value)
        sizes = " · ".join(
            f"{FORMAT_LABELS.get(name, name).split(' (')[0]} {record['bytes'] / 1e6:.2f} MB"
            for name, record in entry["artifacts"].items()
        )
        st.caption(sizes)
        if entry["page"] in pages:
            st.page_link(f"pages/{entry['page']}.py", label="Open the page", icon=":material/arrow_forward:")
