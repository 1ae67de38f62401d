"""``ui._use_the_entry_scripts_navigation`` sets a private Streamlit attribute; these fail loudly if Streamlit
changes what it relies on: the attribute, who sets it, and who reads it (see that function's docstring)."""

import inspect

import pytest
import streamlit as st
import ui
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

from showcase import paths

ENTRY_SCRIPT = paths.REPO_ROOT / "app" / "streamlit_app.py"


@pytest.fixture
def unset_flag():
    """``uses_pages_directory`` unset, as in a freshly started server; restored afterwards (it is process-wide)."""
    saved = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = None
    yield
    PagesManager.uses_pages_directory = saved


def test_the_pages_manager_has_the_class_attribute():
    assert "uses_pages_directory" in vars(PagesManager), (
        "streamlit.runtime.pages_manager.PagesManager.uses_pages_directory is gone: check whether a deep link on a "
        "fresh server still needs ui._use_the_entry_scripts_navigation")


def test_a_pages_manager_for_the_entry_script_beside_app_pages_sets_it(unset_flag):
    assert (ENTRY_SCRIPT.parent / "pages").is_dir()
    PagesManager(str(ENTRY_SCRIPT))
    assert PagesManager.uses_pages_directory is True


def test_a_pages_manager_for_a_script_without_a_pages_folder_leaves_it_false(unset_flag, tmp_path):
    script = tmp_path / "streamlit_app.py"
    script.write_text("")
    PagesManager(str(script))
    assert PagesManager.uses_pages_directory is False


def test_st_navigation_resets_it_to_false(unset_flag):
    PagesManager.uses_pages_directory = True

    def only_page():
        pass

    st.navigation([st.Page(only_page, title="Only page")])
    assert PagesManager.uses_pages_directory is False


def test_the_script_runner_still_reads_it_to_choose_the_legacy_mode():
    assert "PagesManager.uses_pages_directory" in inspect.getsource(script_runner.ScriptRunner)


def test_the_shim_leaves_the_legacy_mode_once_and_reruns(unset_flag, monkeypatch):
    reruns = []
    monkeypatch.setattr(st, "rerun", lambda: reruns.append("rerun"))
    PagesManager.uses_pages_directory = True
    ui._use_the_entry_scripts_navigation()
    assert PagesManager.uses_pages_directory is False and reruns == ["rerun"]
    ui._use_the_entry_scripts_navigation()
    assert reruns == ["rerun"], "the shim reran outside the legacy mode"
