"""AppTest: the Formats page's capacity section shows the load-test and upload-memory figures, and each missed
target with its numbers and reason.

Seam used: ``showcase.paths.BENCHMARKS_PATH``, pointed at a copy of the committed benchmark with capacity
figures added (the app reads the file through ``ui.benchmarks``).
"""

import json
import os

from streamlit.testing.v1 import AppTest

from showcase import paths

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")


def load_round(sessions, p95, machine_cpu):
    return {
        "sessions": sessions, "interactions": sessions * 3, "completed": sessions * 3,
        "click_to_result_seconds": {"n": sessions * 3, "p50": p95 / 2, "p95": p95, "max": p95 * 1.2},
        "by_interaction": {"digits": {"n": sessions, "p50": 1.0, "p95": p95, "max": p95}},
        "errors": [], "error_count": 0, "round_seconds": 30.0, "server_cpu_percent": 80.0,
        "machine_cpu_percent": machine_cpu,
        "resident_mb": {"before": 300.0, "peak": 340.0, "after": 320.0, "growth": 40.0},
    }


CAPACITY = {
    "load": {
        "created": "2026-11-28T14:40:00+00:00", "machine": {"cpu": "Test CPU", "cores": 2}, "duration_seconds": 400,
        "rounds": {"8": load_round(8, 4.5, 98.0), "16": load_round(16, 7.0, 99.0)},
        "after_disconnect": {"sessions": 16, "disconnected_session_ttl_seconds": 120, "waited_seconds": 135,
                             "resident_mb_before_sessions": 300.0, "resident_mb_after_wait": 310.0,
                             "difference_mb": 10.0},
    },
    "upload_memory": {
        "created": "2026-11-28T14:45:00+00:00", "machine": {"cores": 2}, "duration_seconds": 120,
        "image": {"width": 6324, "height": 6324, "mode": "RGB", "bytes": 131_000, "decoded_mb": 120.0},
        "resident_mb_start": 300.0,
        "single": {"digits": {"page": "digits", "uploads": 1, "resident_mb_before": 300.0, "resident_mb_peak": 380.0,
                              "added_mb": 80.0, "outcomes": ["prediction: 1"]}},
        "at_once": {"page": "digits", "uploads": 3, "resident_mb_before": 300.0, "resident_mb_peak": 500.0,
                    "added_mb": 200.0, "outcomes": ["prediction: 1"] * 3},
        "after_close": {"waited_seconds": 60, "resident_mb": 310.0, "difference_mb": 10.0},
    },
}


def test_the_capacity_section_shows_the_figures_and_says_which_target_was_missed_and_why(tmp_path, monkeypatch):
    benchmark = json.loads(paths.BENCHMARKS_PATH.read_text()) | CAPACITY
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(benchmark))
    os.utime(path, (1_000_000_000, 1_000_000_000))  # A modification time of its own: ui caches by it.
    monkeypatch.setattr(paths, "BENCHMARKS_PATH", path)

    app = AppTest.from_file(ENTRY, default_timeout=180)
    app.run()
    app.switch_page("pages/formats.py")
    app.run()
    assert not app.exception, app.exception
    assert "Capacity: many visitors at once, and large uploads" in [header.value for header in app.subheader]
    frames = {tuple(frame.value.columns): frame.value for frame in app.dataframe}
    load = next(frame for columns, frame in frames.items() if "sessions" in columns)
    assert load["sessions"].tolist() == [8, 16]
    uploads = next(frame for columns, frame in frames.items() if "upload" in columns)
    assert uploads["upload"].tolist() == ["one upload on digits", "3 uploads at once on digits"]
    warnings = [warning.value for warning in app.warning]
    missed = [text for text in warnings if text.startswith("**Missed:")]
    assert len(missed) == 1
    assert "p95 click-to-result ≤ 3 s at 8 sessions" in missed[0] and "p95 4.50 s" in missed[0]
    assert "saturated (98% busy" in missed[0]
    assert any("Load test measured 2026-11-28T14:40:00+00:00 on Test CPU" in caption.value for caption in app.caption)
