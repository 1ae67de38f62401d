"""The registry (showcase.tasks): one name per model across the manifest, modules, pages, scripts and docs."""

import pytest

from showcase import evaluation, paths, tasks
from showcase import manifest as manifest_lib


def test_the_registry_lists_exactly_the_models_of_the_manifest():
    assert sorted(tasks.names()) == sorted(manifest_lib.load_manifest()["models"])


@pytest.mark.parametrize("name", tasks.names())
def test_each_model_has_one_name_for_its_files(name):
    entry = manifest_lib.model_entry(name)
    assert entry["name"] == entry["page"] == name
    for path in (f"showcase/tasks/{name}.py", f"app/pages/{name}.py", f"training/train_{name}.py",
                 f"docs/{name}.md", f"models/{name}"):
        assert (paths.REPO_ROOT / path).exists(), path
    assert all(record["path"].startswith(f"{name}/") for record in entry["artifacts"].values())


@pytest.mark.parametrize("name", tasks.names())
def test_each_model_module_has_its_evaluation_subset_and_calibration_inputs(name):
    module = tasks.task(name)
    assert isinstance(module.EVALUATION, evaluation.Subset)
    assert callable(module.calibration_inputs)
    assert evaluation.subset_of(name) is module.EVALUATION


def test_an_unknown_model_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="digits, flowers"):
        tasks.info("autoencoder")
