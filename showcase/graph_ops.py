"""What the converters did to a model's graph, in op counts: SavedModel against TFLite fp32, full int8 and ONNX.

    python -m showcase.graph_ops digits      # records the counts in the model's manifest entry

Each committed serving file of a model is read as a graph of ops, and the ops are counted by type:

- the SavedModel's serving signature, with the functions it calls (needs TensorFlow, so only this script reads
  it); variable reads, placeholders, constants, identities, no-ops and calls are counted apart as plumbing;
- a TFLite file, read from its flatbuffer with LiteRT's schema (no TensorFlow), with the activation each op has
  fused into it and the number of int8 weight tensors;
- an ONNX file, from its node list.

The counts go to the entry's ``extra.graph_ops`` with the sha256 of each file they were read from, so a
retrained model's stale counts are noticed (``is_current``). ``findings`` turns them into sentences for the
Formats page: batch norms folded into convolutions, ReLUs fused into them, a dense layer's two ops made one.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path
from typing import Any

import pandas as pd

from showcase import manifest as manifest_lib
from showcase.formats import FORMAT_LABELS, ONNX, SAVEDMODEL, TFLITE, TFLITE_INT8

# The ONNX file as ONNX Runtime runs it, after the graph optimizations it applies when a session loads it.
ONNX_OPTIMIZED = "onnx_optimized"
GRAPHS = (SAVEDMODEL, TFLITE, TFLITE_INT8, ONNX, ONNX_OPTIMIZED)
GRAPH_LABELS = {**FORMAT_LABELS, ONNX_OPTIMIZED: "ONNX as ONNX Runtime loads it"}
# The committed file each graph is read from.
SOURCE_FORMATS = {SAVEDMODEL: SAVEDMODEL, TFLITE: TFLITE, TFLITE_INT8: TFLITE_INT8, ONNX: ONNX, ONNX_OPTIMIZED: ONNX}
# SavedModel ops that move data into the graph rather than compute: counted apart.
PLUMBING_OPS = frozenset({"Placeholder", "ReadVariableOp", "Const", "Identity", "NoOp", "StatefulPartitionedCall",
                          "PartitionedCall"})
# Inference-mode batch norm in a SavedModel: x * (gamma * rsqrt(variance + eps)) + (beta - mean * ...), one
# Rsqrt per layer and three more kinds of elementwise op.
BATCH_NORM_OPS = ("AddV2", "Mul", "Sub", "Rsqrt")
TFLITE_ELEMENTWISE_OPS = ("ADD", "MUL", "SUB", "RSQRT")
ONNX_ELEMENTWISE_OPS = ("BatchNormalization", "Mul", "Sub", "Sqrt", "Reciprocal")


def tflite_graph(path) -> dict[str, Any]:
    """Op counts of a TFLite file's main subgraph, the activations fused into its ops, and its int8 weights."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
    op_names = _enum_names(schema.BuiltinOperator)
    activation_names = _enum_names(schema.ActivationFunctionType)
    option_names = _enum_names(schema.BuiltinOptions)
    graph = model.Subgraphs(0)
    ops, fused = collections.Counter(), collections.Counter()
    for index in range(graph.OperatorsLength()):
        operator = graph.Operators(index)
        code = model.OperatorCodes(operator.OpcodeIndex())
        ops[op_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]] += 1
        activation = _fused_activation(schema, operator, option_names.get(operator.BuiltinOptionsType()))
        if activation is not None and activation_names[activation] != "NONE":
            fused[activation_names[activation]] += 1
    int8_weights = sum(1 for index in range(graph.TensorsLength())
                       if graph.Tensors(index).Type() == schema.TensorType.INT8 and _is_constant(model, graph, index))
    return {"ops": dict(ops), "total": sum(ops.values()), "fused_activations": dict(fused),
            "int8_weight_tensors": int8_weights}


def _enum_names(enum: type) -> dict[int, str]:
    return {value: name for name, value in vars(enum).items() if not name.startswith("_")}


def _fused_activation(schema: Any, operator: Any, options_name: str | None) -> int | None:
    options_class = getattr(schema, options_name, None) if options_name else None
    if options_class is None or not hasattr(options_class, "FusedActivationFunction"):
        return None
    table, options = operator.BuiltinOptions(), options_class()
    options.Init(table.Bytes, table.Pos)
    return options.FusedActivationFunction()


def _is_constant(model: Any, graph: Any, tensor_index: int) -> bool:
    """Whether a tensor holds data in the file (a weight), rather than being computed while the model runs."""
    buffer = model.Buffers(graph.Tensors(tensor_index).Buffer())
    return buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0)


def onnx_graph(path) -> dict[str, Any]:
    """Op counts of an ONNX file's graph."""
    import onnx

    ops = collections.Counter(node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node)
    return {"ops": dict(ops), "total": sum(ops.values())}


def onnx_runtime_graph(path) -> dict[str, Any]:
    """Op counts of an ONNX file as ONNX Runtime rewrites it when a session loads it, at the extended level (the
    fusions that do not depend on this machine's CPU; the app's sessions also apply the layout ones)."""
    import tempfile

    import onnxruntime

    with tempfile.TemporaryDirectory() as folder:
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(folder) / "optimized.onnx")
        onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return onnx_graph(Path(options.optimized_model_filepath))


def savedmodel_graph(path) -> dict[str, Any]:
    """Op counts of a SavedModel's serving signature and every function it calls, plumbing counted apart."""
    import tensorflow as tf

    graph = tf.saved_model.load(str(path)).signatures["serving_default"].graph.as_graph_def()
    library = {function.signature.name: function.node_def for function in graph.library.function}
    counts: collections.Counter = collections.Counter()
    pending, seen = [graph.node], set()
    while pending:
        for node in pending.pop():
            counts[node.op] += 1
            for attribute in node.attr.values():
                called = attribute.func.name
                if called in library and called not in seen:
                    seen.add(called)
                    pending.append(library[called])
    compute = {op: count for op, count in counts.items() if op not in PLUMBING_OPS}
    plumbing = {op: count for op, count in counts.items() if op in PLUMBING_OPS}
    return {"ops": compute, "total": sum(compute.values()), "plumbing": plumbing}


# The rows of the Formats page's table: the same job under each format's op names.
ROLES = {
    "convolution": {"Conv2D", "CONV_2D", "Conv", "FusedConv"},
    "elementwise arithmetic (batch norm, bias)": {"AddV2", "Mul", "Sub", "Rsqrt", "BiasAdd", "ADD", "MUL", "SUB",
                                                  "RSQRT", "Add", "Sqrt", "Reciprocal", "BatchNormalization"},
    "activation as its own op": {"Relu", "RELU", "Relu6", "RELU6"},
    "pooling": {"MaxPool", "MAX_POOL_2D", "Mean", "MEAN", "GlobalAveragePool", "AveragePool", "AVERAGE_POOL_2D"},
    "matrix multiply": {"MatMul", "FULLY_CONNECTED", "Gemm"},
    "softmax": {"Softmax", "SOFTMAX"},
    "reshape": {"Reshape", "RESHAPE", "Squeeze", "SQUEEZE"},
    "quantize / dequantize": {"QUANTIZE", "DEQUANTIZE", "QuantizeLinear", "DequantizeLinear"},
}
# ONNX Runtime's fused ops: a convolution with its activation, a matrix multiply with its bias.
FUSED_ONNX_OPS = ("FusedConv", "Gemm")

READERS = {SAVEDMODEL: savedmodel_graph, TFLITE: tflite_graph, TFLITE_INT8: tflite_graph, ONNX: onnx_graph,
           ONNX_OPTIMIZED: onnx_runtime_graph}


def record(entry: dict[str, Any]) -> dict[str, Any]:
    """The op counts of every committed graph format of a model, with the sha256 of the file each was read from."""
    graphs = {}
    for graph_name in GRAPHS:
        source = SOURCE_FORMATS[graph_name]
        if source in entry["artifacts"]:
            graphs[graph_name] = READERS[graph_name](manifest_lib.artifact_path(entry, source))
            graphs[graph_name]["sha256"] = entry["artifacts"][source]["sha256"]
    return {"graphs": graphs, "command": f"python -m showcase.graph_ops {entry['name']}"}


def is_current(entry: dict[str, Any]) -> bool:
    """Whether the recorded counts were read from the files the manifest lists now."""
    graphs = entry.get("extra", {}).get("graph_ops", {}).get("graphs", {})
    return bool(graphs) and all(graph["sha256"] == entry["artifacts"].get(SOURCE_FORMATS[name], {}).get("sha256")
                                for name, graph in graphs.items())


def op_table(graph_record: dict[str, Any], by_role: bool = True) -> pd.DataFrame:
    """Op counts, one column per format (0 where a format has none), one row per role (``ROLES``) or op type,
    and a total."""
    graphs = graph_record["graphs"]
    columns = {}
    for name, graph in graphs.items():
        counts = collections.Counter()
        for op, count in graph["ops"].items():
            counts[op_role(op) if by_role else op] += count
        columns[GRAPH_LABELS.get(name, name)] = counts
    table = pd.DataFrame(columns).fillna(0).astype(int)
    if by_role:
        table = table.reindex([role for role in (*ROLES, "other") if role in table.index])
    table.loc["total"] = [graphs[name]["total"] for name in graphs]
    return table.rename_axis("role" if by_role else "op").reset_index()


def op_role(op: str) -> str:
    """What an op does, in the same words for every format's op names."""
    return next((role for role, ops in ROLES.items() if op in ops), "other")


def findings(graph_record: dict[str, Any]) -> list[str]:
    """What the converters fused or folded, as sentences built from the counts."""
    graphs = graph_record["graphs"]
    saved, lite = graphs.get(SAVEDMODEL), graphs.get(TFLITE)
    sentences = []
    if saved and lite:
        sentences.append(f"SavedModel's serving graph has {saved['total']} compute ops (and "
                         f"{sum(saved['plumbing'].values())} variable reads, placeholders and calls); the TFLite "
                         f"converter leaves {lite['total']}.")
        sentences += _batch_norm_findings(saved, lite, graphs.get(ONNX))
        sentences += _activation_findings(saved, lite)
        dense_before = saved["ops"].get("MatMul", 0) + saved["ops"].get("BiasAdd", 0)
        if lite["ops"].get("FULLY_CONNECTED"):
            sentences.append(f"The dense layer's MatMul and BiasAdd ({dense_before} ops) became "
                             f"{lite['ops']['FULLY_CONNECTED']} FULLY_CONNECTED op.")
    sentences += _onnx_runtime_findings(graphs.get(ONNX), graphs.get(ONNX_OPTIMIZED))
    int8 = graphs.get(TFLITE_INT8)
    if lite and int8:
        added = {op: count - lite["ops"].get(op, 0) for op, count in int8["ops"].items()
                 if count > lite["ops"].get(op, 0)}
        added_text = ", ".join(f"{count} {op}" for op, count in sorted(added.items())) or "no op"
        sentences.append(f"Full int8 keeps the same {lite['total']} ops and adds {added_text} (float in and out "
                         f"at the edges); {int8['int8_weight_tensors']} weight tensors are stored as int8.")
    return sentences


def _batch_norm_findings(saved: dict, lite: dict, onnx_record: dict | None) -> list[str]:
    layers = saved["ops"].get("Rsqrt", 0)
    if not layers:
        return []
    arithmetic = sum(saved["ops"].get(op, 0) for op in BATCH_NORM_OPS)
    left = sum(lite["ops"].get(op, 0) for op in TFLITE_ELEMENTWISE_OPS)
    sentences = [f"Batch norm: {layers} layers, {arithmetic} elementwise ops ({', '.join(BATCH_NORM_OPS)}) in "
                 f"SavedModel; TFLite has {left} such ops: "
                 + ("folded into the convolutions' weights and biases." if left == 0 else "not all were folded.")]
    if onnx_record:
        onnx_left = sum(onnx_record["ops"].get(op, 0) for op in ONNX_ELEMENTWISE_OPS)
        sentences.append(f"The ONNX file has {onnx_left} batch-norm ops ({', '.join(ONNX_ELEMENTWISE_OPS)}) and "
                         f"{onnx_record['ops'].get('Relu', 0)} separate Relu nodes, {onnx_record['total']} nodes in "
                         "all.")
    return sentences


def _onnx_runtime_findings(onnx_record: dict | None, optimized: dict | None) -> list[str]:
    if not onnx_record or not optimized:
        return []
    fused = ", ".join(f"{optimized['ops'][op]} {op}" for op in FUSED_ONNX_OPS if optimized["ops"].get(op))
    return [f"ONNX Runtime rewrites the file's {onnx_record['total']} nodes into {optimized['total']} when it loads "
            f"it ({fused or 'no fused op'}; {optimized['ops'].get('Relu', 0)} separate Relu nodes left)."]


def _activation_findings(saved: dict, lite: dict) -> list[str]:
    relus = saved["ops"].get("Relu", 0)
    if not relus:
        return []
    fused = lite["fused_activations"].get("RELU", 0)
    return [f"ReLU: {relus} Relu ops in SavedModel, {lite['ops'].get('RELU', 0)} RELU ops in TFLite, and {fused} "
            "ops carry a fused RELU as their activation."]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model name of the manifest, e.g. digits")
    args = parser.parse_args(argv)
    entry = manifest_lib.model_entry(args.model)
    entry.setdefault("extra", {})["graph_ops"] = record(entry)
    manifest_lib.update_model_entry(entry)
    for sentence in findings(entry["extra"]["graph_ops"]):
        print(sentence)


if __name__ == "__main__":
    main()
