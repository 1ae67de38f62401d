"""The manifest: valid against its schema, and every artifact on disk matching its sha256."""

import json

import jsonschema
import pytest

from showcase import manifest as manifest_lib
from showcase import paths

MANIFEST = manifest_lib.load_manifest()
ARTIFACTS = [
    (model_name, format_name, record)
    for model_name, entry in MANIFEST["models"].items()
    for format_name, record in entry["artifacts"].items()
]


def test_manifest_matches_its_schema():
    schema = json.loads(manifest_lib.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(MANIFEST, schema)


def test_manifest_lists_the_digits_model():
    assert "digits" in MANIFEST["models"]


@pytest.mark.parametrize("model_name,format_name,record", ARTIFACTS, ids=[f"{m}-{f}" for m, f, _ in ARTIFACTS])
def test_artifact_exists_and_matches_its_sha256(model_name, format_name, record):
    assert manifest_lib.verify_artifact(record) is None


def test_every_model_names_an_existing_page_and_a_training_script():
    for entry in MANIFEST["models"].values():
        assert (paths.REPO_ROOT / "app" / "pages" / f"{entry['page']}.py").exists(), entry["name"]
        script = entry["training"]["command"].split()[1]
        assert (paths.REPO_ROOT / script).exists(), script


def test_directory_digest_covers_names_and_contents(tmp_path):
    (tmp_path / "a").write_bytes(b"one")
    (tmp_path / "b").write_bytes(b"two")
    size, first = manifest_lib.file_digest(tmp_path)
    assert size == 6
    (tmp_path / "b").rename(tmp_path / "c")
    assert manifest_lib.file_digest(tmp_path)[1] != first


def test_verify_artifact_reports_missing_and_altered_files(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path)
    (tmp_path / "model.bin").write_bytes(b"weights")
    record = manifest_lib.describe_artifact(tmp_path / "model.bin")
    assert manifest_lib.verify_artifact(record) is None
    (tmp_path / "model.bin").write_bytes(b"tampered")
    assert "does not match" in manifest_lib.verify_artifact(record)
    (tmp_path / "model.bin").unlink()
    assert "missing" in manifest_lib.verify_artifact(record)


def test_update_model_entry_inserts_and_replaces(tmp_path):
    path = tmp_path / "manifest.json"
    manifest_lib.update_model_entry({"name": "b", "value": 1}, path)
    manifest_lib.update_model_entry({"name": "a", "value": 2}, path)
    manifest_lib.update_model_entry({"name": "b", "value": 3}, path)
    written = json.loads(path.read_text())
    assert written["schema_version"] == manifest_lib.SCHEMA_VERSION
    assert list(written["models"]) == ["a", "b"] and written["models"]["b"]["value"] == 3


def test_other_schema_versions_are_refused(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"schema_version": 99, "models": {}}))
    with pytest.raises(ValueError, match="schema version 99"):
        manifest_lib.load_manifest(path)


def test_unknown_model_names_its_training_command():
    with pytest.raises(KeyError, match="train_unicorns.py"):
        manifest_lib.model_entry("unicorns", MANIFEST)
