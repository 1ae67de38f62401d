"""The Formats page's capacity section (load test and upload memory), computed from a hand-made benchmark result."""

from showcase import format_report


def load_round(sessions, p95, errors=(), growth=40.0, server_cpu=60.0, machine_cpu=70.0):
    return {
        "sessions": sessions, "interactions": sessions * 3, "completed": sessions * 3 - len(errors),
        "click_to_result_seconds": {"n": sessions * 3, "p50": p95 / 2, "p95": p95, "max": p95 * 1.5},
        "by_interaction": {"flowers": {"n": sessions, "p50": 1.0, "p95": p95, "max": p95},
                           "sentiment": {"n": sessions, "p50": 0.5, "p95": 0.6, "max": 0.7},
                           "digits": {"n": 0, "p50": None, "p95": None, "max": None}},
        "errors": list(errors), "error_count": len(errors), "round_seconds": 20.0,
        "server_cpu_percent": server_cpu, "machine_cpu_percent": machine_cpu, "browsers_cpu_percent": 100.0,
        "other_cpu_percent": max(0.0, machine_cpu * 2 - server_cpu - 100.0),
        "resident_mb": {"before": 300.0, "peak": 300.0 + growth, "after": 310.0, "growth": growth},
    }


def upload(added, outcome="prediction: 1", uploads=1, page="digits"):
    return {"page": page, "uploads": uploads, "resident_mb_before": 300.0, "resident_mb_peak": 300.0 + added,
            "added_mb": added, "server_cpu_percent": 50.0, "outcomes": [outcome] * uploads}


def benchmarks(p95_at_8=2.0, errors_at_16=(), growth_at_16=60.0, after_disconnect=10.0, digits_upload=100.0,
               at_once=300.0, after_uploads=20.0, machine_cpu=70.0):
    return {
        "load": {
            "machine": {"cores": 2},
            "rounds": {"1": load_round(1, 0.8), "4": load_round(4, 1.5),
                       "8": load_round(8, p95_at_8, machine_cpu=machine_cpu),
                       "16": load_round(16, 5.0, errors_at_16, growth_at_16)},
            "after_disconnect": {"sessions": 16, "disconnected_session_ttl_seconds": 120, "waited_seconds": 135,
                                 "resident_mb_before_sessions": 300.0, "resident_mb_after_wait": 300 + after_disconnect,
                                 "difference_mb": after_disconnect},
        },
        "upload_memory": {
            "machine": {"cores": 2},
            "image": {"width": 6324, "height": 6324, "mode": "RGB", "bytes": 131_000, "decoded_mb": 120.0},
            "resident_mb_start": 300.0,
            "single": {"digits": upload(digits_upload), "flowers": upload(90.0, "prediction: daisy", page="flowers"),
                       "anomaly": upload(80.0, "refused: too large", page="anomaly")},
            "at_once": upload(at_once, uploads=3),
            "after_close": {"waited_seconds": 60, "resident_mb": 300 + after_uploads, "difference_mb": after_uploads},
        },
    }


def checks_by_target(result):
    table = format_report.capacity_checks(result)
    return {row["target"]: row for row in table.to_dict("records")}


def test_load_rows_have_one_row_per_round_and_leave_out_skipped_ones():
    result = benchmarks()
    result["load"]["rounds"]["32"] = {"skipped": "the 300 s time limit ran out"}
    table = format_report.load_rows(result)
    assert table["sessions"].tolist() == [1, 4, 8, 16]
    assert table.loc[table["sessions"] == 8, "p95 (s)"].item() == 2.0
    assert table.loc[table["sessions"] == 16, "memory growth (MB)"].item() == 60.0


def test_upload_rows_name_each_page_and_the_concurrent_uploads():
    table = format_report.upload_rows(benchmarks())
    assert table["upload"].tolist() == ["one upload on digits", "one upload on flowers", "one upload on anomaly",
                                        "3 uploads at once on digits"]
    assert table.loc[2, "what the page showed"] == "refused: too large"


def test_every_target_is_met_when_the_figures_are_within_them():
    table = format_report.capacity_checks(benchmarks())
    assert len(table) == 9
    assert table["met"].all()
    assert (table["why / note"] == "").all()


def test_a_slow_round_is_missed_with_its_numbers_and_the_saturated_cores():
    row = checks_by_target(benchmarks(p95_at_8=4.2, machine_cpu=97.0))["p95 click-to-result ≤ 3 s at 8 sessions"]
    assert not row["met"]
    assert "p95 4.20 s" in row["measured"]
    assert "saturated (97% busy" in row["why / note"]
    assert "Chromium sessions driving it 100% and other processes on the machine 34%" in row["why / note"]
    assert "flowers (p95 4.20 s)" in row["why / note"]


def test_errors_and_memory_misses_say_why_with_the_numbers():
    checks = checks_by_target(benchmarks(errors_at_16=["digits, session 3: TimeoutError: 60 s"], growth_at_16=180.0,
                                         after_disconnect=75.0))
    errors = checks["16 concurrent sessions with 0 errors"]
    assert not errors["met"] and "digits, session 3" in errors["why / note"]
    growth = checks["server memory growth ≤ 100 MB with 16 sessions"]
    assert not growth["met"] and "11.2 MB per concurrent session" in growth["why / note"]
    disconnect = checks["memory within 30 MB of the start once disconnected sessions expire"]
    assert not disconnect["met"] and "375 MB against 300 MB" in disconnect["why / note"]


def test_an_upload_costing_more_than_the_decoded_image_is_explained_by_full_size_decoding():
    checks = checks_by_target(benchmarks(digits_upload=1222.0, at_once=900.0, after_uploads=400.0))
    one = checks["one 40 MP upload on digits adds ≤ 150 MB at peak"]
    assert not one["met"] and "10.2×" in one["why / note"] and "decoded at full size" in one["why / note"]
    assert checks["one 40 MP upload on flowers adds ≤ 150 MB at peak"]["met"]
    three = checks["three 40 MP uploads at once add ≤ 400 MB at peak"]
    assert not three["met"] and "3 × 120 MB" in three["why / note"]
    assert not checks["memory within 50 MB of the start 60 s after the uploads' sessions close"]["met"]


def test_without_a_load_run_every_target_says_how_to_measure_it():
    table = format_report.capacity_checks({"models": {}})
    assert table["met"].isna().all()
    assert table["why / note"].str.contains("python -m showcase.bench --load").all()
    assert format_report.load_rows({}).empty and format_report.upload_rows({}).empty


def test_missed_targets_are_one_sentence_each_with_the_figure_and_the_reason():
    checks = format_report.capacity_checks(benchmarks(p95_at_8=4.2, digits_upload=1222.0))
    sentences = format_report.missed_targets(checks)
    assert len(sentences) == 2
    assert sentences[0].startswith("**Missed: p95 click-to-result ≤ 3 s at 8 sessions** — measured p95 4.20 s")
    assert "decoded at full size" in sentences[1]
    assert format_report.missed_targets(format_report.capacity_checks({})) == []


def test_captions_say_when_and_how_long_each_measurement_ran():
    result = benchmarks()
    result["load"] |= {"created": "2026-11-28T14:40:00+00:00", "duration_seconds": 412.4,
                       "machine": {"cpu": "AMD EPYC", "cores": 2}}
    load_caption, upload_caption = format_report.capacity_captions(result)
    assert "2026-11-28T14:40:00+00:00" in load_caption and "AMD EPYC (2 cores)" in load_caption
    assert "412 s" in load_caption
    assert "6324×6324 RGB PNG of 131 KB" in upload_caption


def test_the_readme_markdown_lists_rounds_uploads_and_every_target():
    text = format_report.capacity_markdown(benchmarks(p95_at_8=4.2))
    assert "| 8 | 24 | 0 | 2.10 | 4.20 | 6.30 | 60 / 100 / 0 | 300 → 340 |" in text
    assert "| 3 uploads at once on digits | 300 | prediction: 1 |" in text
    assert "- p95 click-to-result ≤ 3 s at 8 sessions: **missed**, p95 4.20 s (p50 2.10 s, max 6.30 s) — " in text
    assert "- 16 concurrent sessions with 0 errors: met, 0 errors in 48 interactions\n" in text
    assert format_report.capacity_markdown({}).count(": not measured") == 7


def test_a_server_that_stopped_is_the_first_missed_target_with_its_last_words():
    result = benchmarks()
    result["upload_memory"]["error"] = "the Streamlit server exited with status -9; the last lines of its log: Killed"
    result["upload_memory"]["server_errors"] = ["server traceback: MemoryError"]
    table = format_report.capacity_checks(result)
    first = table.iloc[0]
    assert first["target"] == "the server stays up through the upload measurement" and not first["met"]
    assert "status -9" in first["why / note"]
    tracebacks = table[table["target"] == "no server tracebacks during the uploads"].iloc[0]
    assert not tracebacks["met"] and tracebacks["why / note"] == "server traceback: MemoryError"


def test_a_skipped_round_says_why_and_a_round_without_results_misses_its_latency_target():
    result = benchmarks()
    result["load"]["rounds"]["16"] = {"skipped": "the 360 s limit ran out"}
    failed = load_round(8, 1.0, errors=["flowers, session 0: TimeoutError: 60 s"] * 24)
    failed["click_to_result_seconds"] = {"n": 0, "p50": None, "p95": None, "max": None}
    result["load"]["rounds"]["8"] = failed
    checks = checks_by_target(result)
    skipped = checks["16 concurrent sessions with 0 errors"]
    assert skipped["met"] is None and skipped["why / note"] == "skipped: the 360 s limit ran out"
    latency = checks["p95 click-to-result ≤ 3 s at 8 sessions"]
    assert not latency["met"] and latency["measured"] == "no results"
    assert "none of the 24 interactions got its result, e.g. flowers, session 0" in latency["why / note"]
