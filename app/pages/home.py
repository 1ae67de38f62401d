"""Home: what the showcase is, and one card per trained model, in the navigation's order, then Formats."""

from pathlib import Path

import streamlit as st
import ui

from showcase import cards, tasks
from showcase.formats import FORMAT_LABELS

CARDS_PER_ROW = 3

st.title("TensorFlow model showcase")
st.markdown(
    "Small TensorFlow models trained from scratch or by transfer learning on public data, each served in "
    "three formats — **SavedModel** (TensorFlow), **TFLite** (LiteRT) and **ONNX** (ONNX Runtime). "
    "Every number on these pages comes from a held-out evaluation written by the model's training script; "
    "latencies are measured live on the machine serving this app."
)
pages = {path.stem for path in Path(__file__).parent.glob("*.py")}
models = ui.manifest()["models"]
pictures = cards.read_record()
if not models:
    st.info("No model has been trained yet. Run `python training/train_digits.py` to add the first one.")


def picture(name: str) -> None:
    """The card's picture (``python -m showcase.cards``), captioned with what it shows; nothing before it is made."""
    record = pictures.get(name)
    if record and (cards.CARDS_DIR / record["file"]).exists():
        st.image(str(cards.CARDS_DIR / record["file"]), caption=record["alt"], width="stretch")


def page_link(page: str, label: str) -> None:
    if page in pages:
        st.page_link(f"pages/{page}.py", label=label, icon=":material/arrow_forward:")


def model_card(model: tasks.ModelInfo) -> None:
    entry = models[model.name]
    metrics = entry["metrics"]
    st.subheader(entry["title"])
    st.caption(entry["task"])
    picture(model.name)
    st.write(entry["summary"])
    value = metrics["values"].get(metrics["headline"])
    if value is not None:
        headline = model.headline if model.headline.metric == metrics["headline"] else tasks.Headline(
            metrics["headline"], metrics["headline"].replace("_", " "), ".4g")
        number, words = headline.text(value).split(" ", 1)
        st.markdown(f"**{number}** {words}")
        st.caption(f"{metrics['dataset']}, {metrics['split']} split, n = {metrics['n']:,}")
    st.caption(" · ".join(f"{FORMAT_LABELS.get(name, name).split(' (')[0]} {record['bytes'] / 1e6:.2f} MB"
                          for name, record in entry["artifacts"].items()))
    page_link(entry["page"], f"Open {model.title}")


def formats_card() -> None:
    st.subheader("Formats compared")
    st.caption("size, speed and accuracy of every model in seven formats")
    picture(cards.FORMATS_CARD)
    st.write("The same models exported seven ways, measured for file size, latency, memory and their own metric; "
             "re-measurable on this machine.")
    page_link("formats", "Open Formats compared")


# One row of columns per line of cards, so that reading order and keyboard focus follow the navigation's order.
shown = [model for model in tasks.MODELS if model.name in models]
blocks = [lambda model=model: model_card(model) for model in shown]
if "formats" in pages:
    blocks.append(formats_card)
for start in range(0, len(blocks), CARDS_PER_ROW):
    for column, block in zip(st.columns(CARDS_PER_ROW), blocks[start:start + CARDS_PER_ROW]):
        with column.container(border=True):
            block()
