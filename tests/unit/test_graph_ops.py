"""The digits graphs' op counts in the manifest are those of the committed files, and say what was fused."""

import pytest

from showcase import graph_ops
from showcase import manifest as manifest_lib
from showcase.formats import ONNX, SAVEDMODEL, TFLITE, TFLITE_INT8


@pytest.fixture(scope="module")
def digits():
    return manifest_lib.model_entry("digits")


def test_the_record_was_read_from_the_committed_files(digits):
    assert graph_ops.is_current(digits)
    changed = {**digits, "artifacts": {**digits["artifacts"], TFLITE: {**digits["artifacts"][TFLITE],
                                                                       "sha256": "0" * 64}}}
    assert not graph_ops.is_current(changed)


@pytest.mark.parametrize("graph_name", [TFLITE, TFLITE_INT8, ONNX, graph_ops.ONNX_OPTIMIZED])
def test_counting_again_gives_the_recorded_counts(digits, graph_name):
    recorded = digits["extra"]["graph_ops"]["graphs"][graph_name]
    path = manifest_lib.artifact_path(digits, graph_ops.SOURCE_FORMATS[graph_name])
    counted = graph_ops.READERS[graph_name](path)
    assert counted == {key: value for key, value in recorded.items() if key != "sha256"}


def test_the_tflite_converter_folded_batch_norm_and_fused_relu(digits):
    graphs = digits["extra"]["graph_ops"]["graphs"]
    saved, lite, int8 = graphs[SAVEDMODEL], graphs[TFLITE], graphs[TFLITE_INT8]
    convolutions = saved["ops"]["Conv2D"]
    assert saved["ops"]["Rsqrt"] == convolutions == lite["ops"]["CONV_2D"]
    assert not any(lite["ops"].get(op) for op in graph_ops.TFLITE_ELEMENTWISE_OPS)
    assert lite["fused_activations"] == {"RELU": convolutions} and "RELU" not in lite["ops"]
    assert int8["ops"]["QUANTIZE"] == int8["ops"]["DEQUANTIZE"] == 1 and int8["int8_weight_tensors"] >= convolutions
    table = graph_ops.op_table(digits["extra"]["graph_ops"]).set_index("role")
    assert table.loc["total"].tolist() == [graphs[name]["total"] for name in graphs]
    sentences = " ".join(graph_ops.findings(digits["extra"]["graph_ops"]))
    assert "folded into the convolutions" in sentences and "fused RELU" in sentences


@pytest.mark.slow
def test_counting_the_savedmodel_again_gives_the_recorded_counts(digits):
    recorded = digits["extra"]["graph_ops"]["graphs"][SAVEDMODEL]
    counted = graph_ops.savedmodel_graph(manifest_lib.artifact_path(digits, SAVEDMODEL))
    assert counted == {key: value for key, value in recorded.items() if key != "sha256"}
