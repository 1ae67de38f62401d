"""Where things live: the repository, the committed models, caches and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Overridable so that the benchmark can be tested on a tiny model in a temporary folder.
MODELS_DIR = Path(os.environ.get("SHOWCASE_MODELS_DIR", REPO_ROOT / "models"))
MANIFEST_PATH = MODELS_DIR / "manifest.json"
BENCHMARKS_PATH = MODELS_DIR / "benchmarks.json"
SAMPLES_DIR = REPO_ROOT / "samples"
# What the Digits page's in-browser mode sends to the browser: the recipe, the component and the runtime.
BROWSER_DIR = REPO_ROOT / "app" / "static" / "browser"
# Ignored by git: rebuilt backbones, extra export variants, downloaded data.
CACHE_DIR = Path(os.environ.get("SHOWCASE_CACHE_DIR", REPO_ROOT / ".cache"))
# The Formats page's extra variants (fp16, dynamic-range, ONNX int8) and its prepared evaluation subsets.
VARIANTS_DIR = CACHE_DIR / "variants"
EVALUATION_DIR = CACHE_DIR / "evaluation"
# The read-only data folder that sits beside a checkout on the team's machines and in CI.
SHARED_DIR = Path(os.environ.get("SHOWCASE_SHARED_DIR", REPO_ROOT.parent / "shared"))


def shared_file(relative_path: str) -> Path | None:
    """Return a file under the shared data folder, or None when this machine does not have it."""
    path = SHARED_DIR / relative_path
    return path if path.exists() else None
