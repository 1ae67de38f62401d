"""Entry script: `streamlit run app/streamlit_app.py`.

Navigation lists Home, one page per model of the registry (``showcase.tasks``) whose page exists and whose
model the manifest holds, then Formats, so a fork that has not trained every model still gets a working app.
Streamlit puts this file's folder on ``sys.path``, so pages import the shared ``ui`` module beside it; the
``showcase`` package is installed (``pip install -e .``, done by ``scripts/install.sh``).

The file is read twice, in two roles. ``streamlit run`` finds the ``st.App`` below and imports this file as a
module to get the server (no script run is active then): that server is Streamlit's own plus the prediction
API (``showcase.api``) mounted under ``/v1`` on the same port, so the hosted demo serves ``/v1/models/...`` too
(``SHOWCASE_API_IN_APP=0`` leaves the API out), and the files of the Digits page's in-browser mode under
``/browser`` (``browser_digits``). Then each session runs this file as its script, which draws the
pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from showcase import tasks

PAGES_DIR = Path(__file__).resolve().parent / "pages"
API_VARIABLE = "SHOWCASE_API_IN_APP"


def available_pages() -> list[st.Page]:
    import ui

    models = ui.manifest()["models"]
    pages = [st.Page(PAGES_DIR / "home.py", title="Home", icon=":material/home:", default=True)]
    for model in tasks.MODELS:
        path = PAGES_DIR / f"{model.name}.py"
        if path.exists() and model.name in models:
            pages.append(st.Page(path, title=model.title, icon=model.icon))
    pages.append(st.Page(PAGES_DIR / "formats.py", title="Formats compared", icon=":material/speed:"))
    return pages


def api_routes() -> list:
    """The prediction API under /v1, unless SHOWCASE_API_IN_APP=0."""
    if os.environ.get(API_VARIABLE, "1").strip() == "0":
        return []
    from showcase.api import streamlit_routes
    from showcase.api.operations import configure_logging

    configure_logging()
    return streamlit_routes()


if get_script_run_ctx(suppress_warning=True) is None:
    from browser_digits import browser_routes

    app = st.App(__file__, routes=api_routes() + browser_routes())
else:
    import ui  # noqa: F401  (the shared module's import makes a deep link use this navigation; see ui.py)

    st.set_page_config(page_title="TensorFlow model showcase", page_icon="🧠", layout="wide")
    st.navigation(available_pages()).run()
