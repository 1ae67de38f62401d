"""The TensorFlow Serving layout (``showcase.tf_serving``) holds every committed SavedModel, each with the
``serving_default`` signature that the API's metadata describes (read from saved_model.pb, as saved_model_cli
does), and the committed models.config and the mounts of docker-compose.yml name every one of them."""

import pytest

from showcase import manifest as manifest_lib
from showcase import paths, tf_serving

pytestmark = pytest.mark.slow
SIGNATURE = "serving_default"


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return tf_serving.build_layout(tmp_path_factory.mktemp("tf-serving"))


def serving_signature(version_folder):
    """The ``serve`` graph's ``serving_default`` signature: {"inputs"|"outputs": {key: (dtype, dims)}}."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.python.tools import saved_model_utils

    meta_graph = saved_model_utils.get_meta_graph_def(str(version_folder), "serve")
    assert SIGNATURE in meta_graph.signature_def, list(meta_graph.signature_def)
    signature = meta_graph.signature_def[SIGNATURE]

    def described(tensors):
        return {key: (types_pb2.DataType.Name(info.dtype), [dim.size for dim in info.tensor_shape.dim])
                for key, info in tensors.items()}

    return {"inputs": described(signature.inputs), "outputs": described(signature.outputs)}


def test_every_saved_model_is_in_the_layout_under_version_1(layout):
    models = manifest_lib.load_manifest()["models"]
    assert set(layout) == {name for name, entry in models.items() if "savedmodel" in entry["artifacts"]}
    for name, folder in layout.items():
        assert folder.name == str(tf_serving.VERSION) and folder.parent.name == name
        assert (folder / "saved_model.pb").is_file() and (folder / "variables" / "variables.index").is_file()


def test_each_signature_takes_the_manifests_input(layout):
    models = manifest_lib.load_manifest()["models"]
    dtypes = {"float32": "DT_FLOAT", "int32": "DT_INT32", "int64": "DT_INT64"}
    for name, folder in layout.items():
        spec = models[name]["input"]
        (dtype, dims), = serving_signature(folder)["inputs"].values()
        assert (dtype, dims) == (dtypes[spec["dtype"]], [-1 if d is None else d for d in spec["shape"]]), name


def test_each_signature_is_the_one_the_api_describes(layout):
    serving = pytest.importorskip("showcase.api.serving", reason="the API (showcase.api) is not here yet")
    store = serving.ModelStore()
    for name, folder in layout.items():
        described = store.metadata(name)["metadata"]["signature_def"]["signature_def"][SIGNATURE]
        api = {part: {key: (info["dtype"], [int(dim["size"]) for dim in info["tensor_shape"]["dim"]])
                      for key, info in described[part].items()} for part in ("inputs", "outputs")}
        assert api == serving_signature(folder), name


def test_the_committed_models_config_lists_every_model(layout):
    committed = (paths.REPO_ROOT / "deploy" / "tf-serving" / "models.config").read_text()
    assert committed == tf_serving.model_config(list(layout), "/models")


def test_docker_compose_mounts_every_saved_model_as_version_1(layout):
    compose = (paths.REPO_ROOT / "docker-compose.yml").read_text()
    for name in layout:
        assert f"./models/{name}/savedmodel:/models/{name}/{tf_serving.VERSION}:ro" in compose, name
