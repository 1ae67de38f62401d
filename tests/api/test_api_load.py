"""The API's load test (appdriver.apiload): one short wrk run against the tests' API server, and the figures
that the Formats page shows from it."""

import json
import shutil

import pytest

from appdriver import apiload
from showcase import format_report


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs Debian wrk; scripts/test.sh installs it")
def test_a_bounded_wrk_run_counts_answers_and_errors(api, tmp_path):
    body = tmp_path / "digits.json"
    body.write_text(apiload.request_body("digits"))
    url = f"{api.base_url}/v1/models/digits:predict"
    figures = apiload.run_wrk(url, body, concurrency=2, duration_s=1, max_requests=40)
    assert 0 < figures["requests"] <= 40 + 2  # each thread stops after its share (a response may be in flight)
    assert figures["errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"instances": [[1, 2]]}))
    assert apiload.run_wrk(url, bad, concurrency=1, duration_s=1, max_requests=5)["errors"] > 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs Debian wrk; scripts/test.sh installs it")
def test_the_load_test_command_in_miniature(tmp_path):
    """What ``python -m appdriver api-load`` does, bounded to seconds: a uvicorn server of its own, a warm-up,
    one measured run once the server is idle, the figures and their settings."""
    load = apiload.measure_api_load(["uvicorn_1_worker"], ["digits"], [2], duration_s=1, max_requests=40,
                                    log=lambda line: None)
    figures = load["paths"]["uvicorn_1_worker"]
    assert set(figures["digits"]) == {"c2"} and figures["digits"]["c2"]["errors"] == 0
    assert 0 < figures["digits"]["c2"]["requests"] <= 42
    assert load["settings"]["max_requests"] == 40 and load["ray_serve_vs_uvicorn_2_workers"] == {}


def run(rps, p95, errors=0):
    return {"requests": 100, "seconds": 1.0, "requests_per_second": rps, "p50_ms": p95 / 2, "p95_ms": p95,
            "p99_ms": p95 * 2, "errors": errors}


def test_the_formats_page_states_the_target_and_ray_serves_overhead():
    paths = {"uvicorn_1_worker": {"digits": {"c32": run(450, 80)}},
             "uvicorn_2_workers": {"digits": {"c32": run(500, 70, errors=1)}},
             "ray_serve_2_replicas": {"digits": {"c32": run(250, 140)}}}
    load = {"paths": paths, "ray_serve_vs_uvicorn_2_workers": apiload.overhead_ratios(paths),
            "settings": {"tool": "wrk", "cores": 2, "max_requests": 5000, "duration_s": 5}, "created": "2026-12-04T14"}
    assert load["ray_serve_vs_uvicorn_2_workers"] == {"digits_c32": {"throughput_ratio": 0.5, "p95_ratio": 2.0}}
    sentences = format_report.api_load_sentences({"api_load": load})
    assert "450 req/s, 0 errors — met" in sentences[0]
    assert "500 req/s, 1 errors — not met" in sentences[1]
    assert "0.50× the requests per second, 2.00× the p95" in sentences[2]
    rows = format_report.api_load_rows({"api_load": load})
    assert list(rows["req/s"]) == [450, 500, 250] and set(rows["concurrency"]) == {32}
    assert format_report.api_load_rows({}).empty and format_report.api_load_sentences({}) == []
