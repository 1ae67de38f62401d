"""Rebuild the float ImageNet MobileNetV2 from its int8 TFLite file, as a TF Hub-style feature extractor.

Run:
    python training/rebuild_mobilenet.py --tflite ../shared/pretrained/mobilenet_v2_1.0_224_imagenet_int8.tflite \
        --data ../shared/data/flower_photos.tgz

No float MobileNetV2 checkpoint is reachable offline, but the full-integer TFLite file carries every
ImageNet weight: each CONV_2D / DEPTHWISE_CONV_2D op has int8 weights with per-output-channel scales and an
int32 bias (batch norm already folded in). Dequantizing them (``q * scale``) gives the float network.
We clone ``tf_keras.applications.MobileNetV2(weights=None)`` with batch norm folded away (each convolution
gets a bias, each BatchNormalization becomes an identity) and fill its 52 convolutions in order with
those weights: the same function, with fewer variables than keeping BN layers as "add the bias".

The rebuild is checked against the TFLite model itself: both classify 300 flower photos into the 1000
ImageNet classes and must agree on the top-1 class for at least 90% of them (int8 rounding explains the
rest). The result is saved as a reusable SavedModel (the TF Hub convention: ``__call__``, ``variables``,
``trainable_variables``, ``regularization_losses``) mapping [0, 1] RGB images (N, 224, 224, 3) to the
1280-d pooled feature vector, like the public TF Hub handle
https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5. It also exposes its two halves,
``bottom`` (image -> the 7×7×160 output of block 15; frozen) and ``top`` (block 16 and the final 1×1
convolution, pooled; trainable), so that training can cache the bottom's output and fine-tune the top.
Written to .cache/mobilenet_v2_100_224_feature_vector/ (git-ignored), with rebuild_check.json beside it.
"""

from __future__ import annotations

import os

# hub.KerasLayer needs Keras 2 (tf_keras); set for this process only, before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import common  # noqa: E402
import flowers_data  # noqa: E402
from showcase import paths  # noqa: E402
from showcase.tasks import flowers as flower_preprocessing  # noqa: E402

BACKBONE_DIR = paths.CACHE_DIR / "mobilenet_v2_100_224_feature_vector"
CHECK_PATH = BACKBONE_DIR.parent / "mobilenet_v2_rebuild_check.json"
SPLIT_LAYER = "block_15_add"  # 7×7×160; everything after it is the trainable "top".
CHECK_PHOTOS = 300
MIN_AGREEMENT = 0.90


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tflite", help="the int8 MobileNetV2 file; default: $MOBILENET_INT8_TFLITE or "
                        "../shared/pretrained/mobilenet_v2_1.0_224_imagenet_int8.tflite")
    parser.add_argument("--data", help="flower_photos.tgz for the check; default: $FLOWERS_TGZ or download")
    parser.add_argument("--output", default=str(BACKBONE_DIR))
    return parser.parse_args()


# ## Read the int8 weights


def tflite_interpreter(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without the default XNNPACK delegate every op (and its constant tensors) stays visible.
    interpreter = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    return interpreter


def dequantized(interpreter, tensor_index: int) -> np.ndarray:
    """A constant tensor as float32: (q - zero_point) * scale, with per-channel scales where it has them."""
    detail = interpreter._get_tensor_details(tensor_index, subgraph_index=0)
    values = interpreter.get_tensor(tensor_index).astype(np.float32)
    quantization = detail["quantization_parameters"]
    scales, zero_points = quantization["scales"], quantization["zero_points"]
    shape = [1] * values.ndim
    shape[quantization["quantized_dimension"]] = -1
    return (values - zero_points.reshape(shape)) * scales.reshape(shape)


def float_weights(interpreter) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """The convolutions in graph order as (op name, kernel, bias), and the classifier's (kernel, bias)."""
    convolutions, classifier = [], None
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            _, weight, bias = op["inputs"]
            convolutions.append((op["op_name"], dequantized(interpreter, weight), dequantized(interpreter, bias)))
        elif op["op_name"] == "FULLY_CONNECTED":
            _, weight, bias = op["inputs"]
            classifier = (dequantized(interpreter, weight).T, dequantized(interpreter, bias))
    if len(convolutions) != 52 or classifier is None:
        raise ValueError(f"Expected 52 convolutions and a classifier, found {len(convolutions)}: not MobileNetV2?")
    return convolutions, classifier


# ## Rebuild in Keras


def folded_mobilenet_v2():
    """tf_keras MobileNetV2 with batch norm folded away: convolutions with bias, each BN an identity."""
    import tf_keras

    def fold(layer):
        config = layer.get_config()
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            return tf_keras.layers.Activation("linear", name=layer.name)
        if isinstance(layer, (tf_keras.layers.Conv2D, tf_keras.layers.DepthwiseConv2D)):
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    reference = tf_keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    return tf_keras.models.clone_model(reference, clone_function=fold)


def rebuild(interpreter):
    """The folded MobileNetV2 (with its ImageNet classifier) carrying the dequantized TFLite weights."""
    import tf_keras

    model = folded_mobilenet_v2()
    convolutions, (dense_kernel, dense_bias) = float_weights(interpreter)
    keras_convolutions = [
        layer for layer in model.layers
        if isinstance(layer, (tf_keras.layers.Conv2D, tf_keras.layers.DepthwiseConv2D))
    ]
    for layer, (op_name, kernel, bias) in zip(keras_convolutions, convolutions, strict=True):
        depthwise = isinstance(layer, tf_keras.layers.DepthwiseConv2D)
        if depthwise != (op_name == "DEPTHWISE_CONV_2D"):
            raise ValueError(f"Layer {layer.name} does not line up with TFLite op {op_name}.")
        # TFLite: [out, h, w, in] (depthwise [1, h, w, channels]); Keras: [h, w, in, out] ([h, w, channels, 1]).
        layer.set_weights([np.transpose(kernel, (1, 2, 3, 0)), bias])
    model.get_layer("predictions").set_weights([dense_kernel, dense_bias])
    return model


def split(model):
    """(bottom, top): image [0, 1] -> block 15 output, and block 15 output -> 1280-d pooled features."""
    import tf_keras

    images = tf_keras.Input((224, 224, 3), name="images")
    scaled = tf_keras.layers.Rescaling(2.0, offset=-1.0, name="to_mobilenet_range")(images)
    inner = tf_keras.Model(model.input, model.get_layer(SPLIT_LAYER).output)
    bottom = tf_keras.Model(images, inner(scaled), name="mobilenet_v2_bottom")

    feature_map = tf_keras.Input(inner.output.shape[1:], name="block_15_output")
    x = feature_map
    # Everything after the split is a plain chain (block 16 has no residual): replay its layers in order.
    start = [layer.name for layer in model.layers].index(SPLIT_LAYER) + 1
    for layer in model.layers[start:]:
        if isinstance(layer, tf_keras.layers.GlobalAveragePooling2D):
            break
        x = layer(x)
    pooled = tf_keras.layers.GlobalAveragePooling2D(name="pooled_features")(x)
    top = tf_keras.Model(feature_map, pooled, name="mobilenet_v2_top")
    return bottom, top


# ## Check against the TFLite model


def check_photos(data_file) -> list[np.ndarray]:
    """300 photos (60 per class, the first of each class in sorted order), as the app would see them."""
    photos = flowers_data.read_archive(flowers_data.archive_path(data_file))
    per_class = CHECK_PHOTOS // len(flower_preprocessing.LABELS)
    names = [name for label in flower_preprocessing.LABELS
             for name in sorted(n for n in photos if n.startswith(label + "/"))[:per_class]]
    return [flower_preprocessing.prepare_photo(photos[name])[1] for name in names]


def compare_with_tflite(model, interpreter_path, views) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(interpreter_path), num_threads=2)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    pixels = np.round(np.stack(views) * 255).astype(np.uint8)
    int8_top1 = []
    for image in pixels:
        interpreter.set_tensor(input_index, image[None])
        interpreter.invoke()
        int8_top1.append(int(interpreter.get_tensor(output_index)[0].argmax()))
    float_probabilities = model.predict(pixels / 127.5 - 1.0, batch_size=32, verbose=0)
    agreement = float(np.mean(np.array(int8_top1) == float_probabilities.argmax(1)))
    return {"photos": len(views), "top1_agreement": round(agreement, 4)}


# ## Save the feature extractor


def save_feature_extractor(bottom, top, directory) -> None:
    """A reusable SavedModel that hub.KerasLayer loads: the whole extractor plus its two halves."""
    import tensorflow as tf

    def part(model, input_shape, trainable: bool):
        # Only variables and traced functions are saved (no Keras layer metadata): a small SavedModel.
        module = tf.train.Checkpoint()
        module.variables = list(model.variables)
        module.trainable_variables = list(model.trainable_variables) if trainable else []
        module.regularization_losses = []
        # No `training` argument: batch norm (folded here) always runs in inference mode.
        module.__call__ = tf.function(
            lambda inputs: model(inputs, training=False),
            input_signature=[tf.TensorSpec([None, *input_shape], tf.float32)],
        )
        return module

    root = tf.train.Checkpoint()
    root.bottom = part(bottom, (224, 224, 3), trainable=False)
    root.top = part(top, tuple(top.input.shape[1:]), trainable=True)
    root.variables = root.bottom.variables + root.top.variables
    root.trainable_variables = list(root.top.trainable_variables)
    root.regularization_losses = []
    root.__call__ = tf.function(
        lambda images: top(bottom(images, training=False), training=False),
        input_signature=[tf.TensorSpec([None, 224, 224, 3], tf.float32)],
    )
    tf.saved_model.save(root, str(directory), signatures={"serving_default": root.__call__})


def main() -> None:
    args = parse_args()
    tflite_path = common.data_path(args.tflite, "MOBILENET_INT8_TFLITE") or paths.shared_file(
        "pretrained/mobilenet_v2_1.0_224_imagenet_int8.tflite")
    if tflite_path is None:
        raise SystemExit("Pass --tflite: the int8 MobileNetV2 file is needed to rebuild the float network.")
    data_file = common.data_path(args.data, "FLOWERS_TGZ") or paths.shared_file("data/flower_photos.tgz")
    model = rebuild(tflite_interpreter(tflite_path))
    check = compare_with_tflite(model, tflite_path, check_photos(data_file))
    print(f"Float rebuild vs int8 TFLite: same ImageNet top-1 on {check['top1_agreement']:.1%} "
          f"of {check['photos']} flower photos.")
    if check["top1_agreement"] < MIN_AGREEMENT:
        raise SystemExit(f"The rebuild agrees on fewer than {MIN_AGREEMENT:.0%}: refusing to save it.")

    bottom, top = split(model)
    directory = Path(args.output)
    save_feature_extractor(bottom, top, directory)
    check.update({"tflite": str(tflite_path.name), "saved_to": str(directory), "split_layer": SPLIT_LAYER,
                  "bottom_parameters": int(bottom.count_params()), "top_parameters": int(top.count_params())})
    CHECK_PATH.write_text(json.dumps(check, indent=2) + "\n")
    print(f"Saved the feature extractor to {directory} ({check})")


if __name__ == "__main__":
    main()
