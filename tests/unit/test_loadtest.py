"""The load test's bookkeeping: session plans, percentiles, traceback search, the TTL setting, merging results."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from appdriver import loadtest
from showcase import bench


def test_sessions_start_at_different_interactions_and_take_them_in_turn():
    assert loadtest.session_plan(0, 3) == ["flowers", "sentiment", "digits"]
    assert loadtest.session_plan(1, 3) == ["sentiment", "digits", "flowers"]
    assert [loadtest.session_plan(index, 1)[0] for index in range(4)] == ["flowers", "sentiment", "digits", "flowers"]


def test_a_round_summary_counts_failures_and_takes_percentiles_of_the_rest_only():
    result = loadtest.RoundResult(sessions=2, seconds=12.0, outcomes=[
        loadtest.Outcome("flowers", 0, seconds=1.0),
        loadtest.Outcome("digits", 0, seconds=3.0),
        loadtest.Outcome("digits", 1, error="digits, session 1: TimeoutError: 60 s"),
        loadtest.Outcome("sentiment", 1, seconds=2.0),
    ])
    summary = loadtest.summarise(result)
    assert summary["interactions"] == 4 and summary["completed"] == 3
    assert summary["click_to_result_seconds"] == {"n": 3, "p50": 2.0, "p95": 2.9, "max": 3.0}
    assert summary["by_interaction"]["digits"]["n"] == 1
    assert summary["errors"] == ["digits, session 1: TimeoutError: 60 s"]


def test_a_round_cut_short_is_an_error_and_an_empty_round_has_no_percentiles():
    summary = loadtest.summarise(loadtest.RoundResult(sessions=16, seconds=300.0, cut_short=True))
    assert summary["click_to_result_seconds"]["p95"] is None
    assert summary["errors"] == ["the round was cut short by the time limit after 300 s"]


def test_tracebacks_in_the_server_log_are_reported_by_their_exception_line():
    log = "\n".join([
        "  You can now view your Streamlit app in your browser.",
        "Traceback (most recent call last):",
        '  File "app/pages/digits.py", line 3, in <module>',
        "    raise ValueError('bad pixels')",
        "ValueError: bad pixels",
        "2026-11-28 13:00:00.000 Uncaught app execution",
    ])
    assert loadtest.tracebacks_in(log) == ["server traceback: ValueError: bad pixels"]
    assert loadtest.tracebacks_in("all quiet\n") == []


def test_the_session_ttl_comes_from_the_config_file_or_streamlits_default(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[server]\nheadless = true\ndisconnectedSessionTTL = 45\n")
    assert loadtest.disconnected_session_ttl(config) == 45.0
    config.write_text("[server]\nheadless = true\n")
    assert loadtest.disconnected_session_ttl(config) == loadtest.STREAMLIT_DEFAULT_TTL_S
    assert loadtest.disconnected_session_ttl(tmp_path / "missing.toml") == loadtest.STREAMLIT_DEFAULT_TTL_S


def test_the_big_upload_is_a_white_picture_with_one_black_stroke_that_compresses_well(tmp_path):
    path = tmp_path / "big.png"
    described = loadtest.write_big_png(path, side=1000)
    with Image.open(path) as image:
        assert image.size == (1000, 1000) and image.mode == "RGB"
        colours = {colour for _, colour in image.getcolors(maxcolors=1_000_000)}
    assert {(255, 255, 255), (0, 0, 0)} <= colours
    assert described["decoded_mb"] == 3.0
    assert described["bytes"] < 1000 * 1000 * 3 / 100


def test_re_measuring_the_models_keeps_the_load_figures(tmp_path):
    output = tmp_path / "benchmarks.json"
    output.write_text(json.dumps({"models": {}, "app": {"x": 1}, "load": {"rounds": {}},
                                  "upload_memory": {"single": {}}}))
    merged = bench.merge_with_previous({"models": {}}, output)
    assert merged["load"] == {"rounds": {}} and merged["upload_memory"] == {"single": {}}


def test_streamlits_coloured_boxed_tracebacks_are_found_too():
    log = "\n".join([
        "\x1b[31m──\x1b[0m\x1b[31m────\x1b[0m\x1b[31m \x1b[0m\x1b[1;31mTraceback \x1b[0m"
        "\x1b[1;2;31m(most recent call last)\x1b[0m",
        "\x1b[31m \x1b[0m \x1b[2m/work/main/app/pages/\x1b[0m\x1b[1msentiment.py\x1b[0m:34 in <module>",
        "\x1b[31m \x1b[0m run",
        "\x1b[31m────────────────\x1b[0m",
        "\x1b[1;91mAttributeError: \x1b[0mmodule \x1b[32m'ui'\x1b[0m has no attribute "
        "\x1b[32m'model_entry_or_stop'\x1b[0m",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    ])
    assert loadtest.tracebacks_in(log) == [
        "server traceback: AttributeError: module 'ui' has no attribute 'model_entry_or_stop'"]


def test_a_server_that_has_exited_is_reported_with_its_status_and_last_log_lines(tmp_path):
    server = loadtest.LiveServer(tmp_path)
    server.log_path.write_text("starting\n\x1b[31mKilled\x1b[0m\n")
    server.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    server.process.wait(timeout=30)
    expected = r"exited with status 3; the last lines of its log: starting \| Killed"
    with pytest.raises(loadtest.ServerExited, match=expected):
        server.resident_mb()
