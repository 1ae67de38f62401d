"""Entry script: `streamlit run app/streamlit_app.py`.

Navigation lists Home, one page per model of the registry (``showcase.tasks``) whose page exists and whose
model the manifest holds, then Formats, so a fork that has not trained every model still gets a working app.
Streamlit puts this file's folder on ``sys.path``, so pages import the shared ``ui`` module beside it; the
``showcase`` package is installed (``pip install -e .``, done by ``scripts/install.sh``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import ui

from showcase import tasks

PAGES_DIR = Path(__file__).resolve().parent / "pages"


def available_pages() -> list[st.Page]:
    models = ui.manifest()["models"]
    pages = [st.Page(PAGES_DIR / "home.py", title="Home", icon=":material/home:", default=True)]
    for model in tasks.MODELS:
        path = PAGES_DIR / f"{model.name}.py"
        if path.exists() and model.name in models:
            pages.append(st.Page(path, title=model.title, icon=model.icon))
    pages.append(st.Page(PAGES_DIR / "formats.py", title="Formats compared", icon=":material/speed:"))
    return pages


st.set_page_config(page_title="TensorFlow model showcase", page_icon=":material/neurology:", layout="wide")
st.navigation(available_pages()).run()
