"""Entry script: `streamlit run app/streamlit_app.py`.

Navigation lists only the pages that exist and whose model the manifest holds, so a fork that has not
trained every model still gets a working app.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
# Pages import the shared `ui` module beside this file, and the `showcase` package at the repository root.
for folder in (APP_DIR, APP_DIR.parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import ui  # noqa: E402

# (page file in app/pages, title, icon, model it needs in the manifest or None)
PAGES = [
    ("home", "Home", ":material/home:", None),
    ("digits", "Digits", ":material/draw:", "digits"),
    ("flowers", "Flowers", ":material/local_florist:", "flowers"),
    ("sentiment", "Sentiment", ":material/reviews:", "sentiment"),
    ("forecast", "Stock forecast", ":material/show_chart:", "forecast"),
    ("anomaly", "Anomaly detection", ":material/troubleshoot:", "anomaly"),
    ("gan", "Digit GAN", ":material/auto_awesome:", "gan"),
    ("formats", "Formats compared", ":material/speed:", None),
]


def available_pages() -> list[st.Page]:
    models = ui.manifest()["models"]
    pages = []
    for file_name, title, icon, model in PAGES:
        path = APP_DIR / "pages" / f"{file_name}.py"
        if path.exists() and (model is None or model in models):
            pages.append(st.Page(path, title=title, icon=icon, default=file_name == "home"))
    return pages


st.set_page_config(page_title="TensorFlow model showcase", page_icon=":material/neurology:", layout="wide")
st.navigation(available_pages()).run()
