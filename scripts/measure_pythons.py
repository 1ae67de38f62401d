"""Compare Python versions for the Docker image: the hosted set's size, import time, app start and predictions.

    python scripts/measure_pythons.py /tmp/light-3.11 /tmp/light-3.12 /tmp/light-3.13 [--rounds 5]

Each argument is a virtual environment holding app/requirements.lock (``VENV=/tmp/light-3.12
PYTHON=python3.12 bash scripts/install.sh app/requirements.txt``, then ``python -m compileall`` on it, as pip
does when it installs). Per environment it prints, as JSON: the packages' size on disk (pip and setuptools left
out, as the base image brings them), the median time to import the serving libraries in a fresh process, the
median time from ``streamlit run`` to a healthy server, the median time for a fresh process to import
Streamlit and run the Home page then the Flowers page on a sample photo in AppTest (loading the model), and
the p50 of batch-1 predictions of the Flowers model (TFLite) and the Digits model (ONNX). Every figure is the
median of ``--rounds`` fresh processes after one warm-up, the environments taking turns, on whatever else the
machine is doing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

from appdriver.server import free_port, wait_for_health
from showcase.paths import REPO_ROOT

IMPORT = ("import time; start = time.perf_counter(); import streamlit, numpy, pandas, onnxruntime, PIL; "
          "import ai_edge_litert.interpreter; print(time.perf_counter() - start)")
PREDICT = """
import json, sys, time, numpy as np
from showcase import runtime
result = {{}}
for model, format_name, shape in (("flowers", "tflite", (1, 224, 224, 3)), ("digits", "onnx", (1, 28, 28, 1))):
    predictor = runtime.load(model, format_name)
    batch = np.random.default_rng(0).uniform(0, 1, size=shape).astype(np.float32)
    for _ in range(5):
        predictor.predict(batch)
    times = []
    for _ in range(100):
        start = time.perf_counter()
        predictor.predict(batch)
        times.append(time.perf_counter() - start)
    result[model + "_" + format_name] = sorted(times)[len(times) // 2]
print(json.dumps(result))
"""
FIRST_PAGES = """
import sys, time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
from showcase.tasks import flowers
app = AppTest.from_file({root!r} + "/app/streamlit_app.py", default_timeout=120)
app.run()
app.switch_page("pages/flowers.py")
app.run()
app.radio(key="flowers_input").set_value("Sample gallery").run()
app.button(key="flowers_sample_" + flowers.sample_photos()[0].stem).click().run()
assert not app.exception, app.exception
print(time.perf_counter() - start)
"""
LEFT_OUT = ("pip", "setuptools", "_distutils_hack", "wheel")


def packages_mb(venv: Path) -> float:
    site = next(venv.glob("lib/python3.*/site-packages"))
    total = 0
    for path in site.rglob("*"):
        top = path.relative_to(site).parts[0]
        if path.is_file() and not top.startswith(LEFT_OUT):
            total += path.stat().st_size
    return round(total / 1e6)


def run_python(venv: Path, code: str) -> str:
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO_ROOT).stdout.strip().splitlines()[-1]


def start_seconds(venv: Path) -> float:
    """From ``streamlit run`` to a healthy server on loopback."""
    port = free_port()
    command = [str(venv / "bin" / "python"), "-m", "streamlit", "run", "app/streamlit_app.py",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    start = time.perf_counter()
    server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_health(port, start + 120):
            raise RuntimeError(f"{venv}: the server did not become healthy within 120 s")
        return time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)


def one_round(venv: Path) -> dict:
    """One fresh process (or server) per figure."""
    return {
        "import_s": float(run_python(venv, IMPORT)),
        "start_s": start_seconds(venv),
        "first_pages_s": float(run_python(venv, FIRST_PAGES.format(root=str(REPO_ROOT)))),
        **{f"{name}_p50_ms": seconds * 1000
           for name, seconds in json.loads(run_python(venv, PREDICT.format(root=str(REPO_ROOT)))).items()},
    }


def measure(venvs: list[Path], rounds: int) -> list[dict]:
    """Rounds alternate between the environments, so that a busy spell on the machine falls on all of them."""
    for venv in venvs:
        one_round(venv)  # warm-up: the files in the page cache
    results = {venv: [] for venv in venvs}
    for _ in range(rounds):
        for venv in venvs:
            results[venv].append(one_round(venv))
    return [
        {
            "python": run_python(venv, "import platform; print(platform.python_version())"),
            "packages_mb": packages_mb(venv),
            **{key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]},
        }
        for venv, runs in results.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("venvs", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for result in measure(args.venvs, args.rounds):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
