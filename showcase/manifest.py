"""The model manifest: one JSON file describing every trained artifact.

Training scripts write it (``update_model_entry``); the app, the benchmark and the tests only read it.
Its layout is the JSON Schema in ``manifest_schema.json`` beside this file and is explained in
``docs/manifest.md``. Bump ``SCHEMA_VERSION`` when the layout changes incompatibly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any, Iterator

from showcase import paths

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("manifest_schema.json")

def load_manifest(path: Path = paths.MANIFEST_PATH) -> dict[str, Any]:
    """Read the manifest, or return an empty one when no model has been trained yet."""
    if not path.exists():
        return {"schema_version": SCHEMA_VERSION, "models": {}}
    manifest = json.loads(path.read_text())
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{path} has schema version {manifest.get('schema_version')}, this code reads version "
            f"{SCHEMA_VERSION}. Retrain the models or update the code."
        )
    return manifest


def model_entry(name: str, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return one model's entry, with a message naming the training command when it is missing."""
    models = (manifest or load_manifest())["models"]
    if name not in models:
        raise KeyError(
            f"The manifest has no model called {name!r}. Train it with "
            f"`python training/train_{name}.py`."
        )
    return models[name]


def artifact_path(entry: dict[str, Any], format_name: str) -> Path:
    """Absolute path of one format's artifact of a manifest entry."""
    try:
        relative = entry["artifacts"][format_name]["path"]
    except KeyError:
        raise KeyError(
            f"Model {entry['name']!r} has no {format_name!r} artifact; it has "
            f"{', '.join(entry['artifacts'])}."
        ) from None
    return paths.MODELS_DIR / relative


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock so that two training scripts never interleave their writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def update_model_entry(entry: dict[str, Any], path: Path = paths.MANIFEST_PATH) -> None:
    """Insert or replace one model's entry (keyed by ``entry["name"]``) and rewrite the file."""
    with _locked(path):
        manifest = load_manifest(path)
        manifest["models"][entry["name"]] = entry
        manifest["models"] = dict(sorted(manifest["models"].items()))
        path.write_text(json.dumps(manifest, indent=2) + "\n")


def file_digest(path: Path) -> tuple[int, str]:
    """Size in bytes and sha256 of a file, or of a directory (hash over sorted relative paths and contents)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    size = 0
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        data = file.read_bytes()
        digest.update(data)
        size += len(data)
    return size, digest.hexdigest()


def describe_artifact(path: Path) -> dict[str, Any]:
    """The manifest record of one artifact: path relative to ``models/``, bytes and sha256."""
    size, sha256 = file_digest(path)
    return {"path": path.relative_to(paths.MODELS_DIR).as_posix(), "bytes": size, "sha256": sha256}


def verify_artifact(record: dict[str, Any]) -> str | None:
    """Return a description of what is wrong with an artifact on disk, or None when it matches."""
    path = paths.MODELS_DIR / record["path"]
    if not path.exists():
        return f"{record['path']} is missing"
    size, sha256 = file_digest(path)
    if sha256 != record["sha256"] or size != record["bytes"]:
        return f"{record['path']} does not match the manifest (sha256 {sha256[:12]}…, {size} bytes)"
    return None


def library_versions(*packages: str) -> dict[str, str]:
    """Versions of Python and of the named installed packages, for the manifest and benchmarks."""
    versions = {"python": platform.python_version()}
    for package in packages:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return versions


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
