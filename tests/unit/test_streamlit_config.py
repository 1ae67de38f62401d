"""The committed Streamlit settings that the hosted app relies on."""

import tomllib

from showcase import paths


def streamlit_config() -> dict:
    return tomllib.loads((paths.REPO_ROOT / ".streamlit" / "config.toml").read_text())


def test_a_disconnected_session_is_freed_well_before_streamlits_default():
    # Streamlit's default is 120 s; a closed tab's state and uploads should not hold a small host's memory that long.
    assert 30 <= streamlit_config()["server"]["disconnectedSessionTTL"] <= 60


def test_streamlit_knows_the_setting():
    from streamlit import config

    assert "server.disconnectedSessionTTL" in config._config_options_template
