"""The flowers model's backbone: the float ImageNet MobileNetV2 rebuilt from its int8 TFLite file, as a TF Hub-style
feature extractor, and the cache of its frozen outputs that ``train_flowers.py`` trains on.

Run:
    python training/flowers_backbone.py --tflite ../shared/pretrained/mobilenet_v2_1.0_224_imagenet_int8.tflite \
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
Written to .cache/mobilenet_v2_100_224_feature_vector/ (git-ignored), with mobilenet_v2_rebuild_check.json
beside it.

``frozen_outputs`` caches the frozen part's output for every training view, so that each epoch of
``train_flowers.py`` costs only the top. The frozen part (MobileNetV2 up to block 15 with the local rebuild, or
the whole feature extractor with a public TF Hub handle) is the same function in every epoch, so its output is
computed once per view: the centre crop of each photo plus ``augmented_views`` random crops/flips/colour jitters
of each training photo. On two CPU cores TensorFlow runs MobileNetV2 at a handful of images per second, so this
one pass goes through the same frozen layer converted to an fp32 TFLite model (LiteRT's XNNPACK kernels are
several times faster on CPU; outputs agree with TensorFlow to ~1e-4, checked on the first chunk). Results are
stored as float16 in .cache/ and reused by later runs with the same settings.
"""

# ## Setup

from __future__ import annotations

import os

# hub.KerasLayer needs Keras 2 (tf_keras); set for this process only, before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from common import data_path

from showcase import datasets, paths
from showcase.tasks import flowers

BACKBONE_DIR = paths.CACHE_DIR / "mobilenet_v2_100_224_feature_vector"
CHECK_PATH = BACKBONE_DIR.parent / "mobilenet_v2_rebuild_check.json"
SPLIT_LAYER = "block_15_add"  # 7×7×160; everything after it is the trainable "top".
CHECK_PHOTOS = 300
MIN_AGREEMENT = 0.90
DOWNLOAD_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
# Views per TFLite call when caching the frozen outputs.
CHUNK = 16
MAX_DIFFERENCE = 1e-2  # relative to the output's largest value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tflite", help="the int8 MobileNetV2 file; default: $MOBILENET_INT8_TFLITE or "
                        "../shared/pretrained/mobilenet_v2_1.0_224_imagenet_int8.tflite")
    parser.add_argument("--data", help="flower_photos.tgz for the check; default: $FLOWERS_TGZ or download")
    parser.add_argument("--output", default=str(BACKBONE_DIR))
    return parser.parse_args()


# ## The photos


def archive_path(path: Path | None) -> Path:
    """The local flower_photos.tgz, or the public one downloaded into the Keras cache."""
    if path is not None:
        return path
    return Path(tf_keras.utils.get_file("flower_photos.tgz", DOWNLOAD_URL))


# ## Read the int8 weights


def tflite_interpreter(path):
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
    photos = datasets.flower_photos(archive_path(data_file))
    per_class = CHECK_PHOTOS // len(flowers.LABELS)
    names = [name for label in flowers.LABELS
             for name in sorted(n for n in photos if n.startswith(label + "/"))[:per_class]]
    return [flowers.prepare_photo(photos[name])[1] for name in names]


def compare_with_tflite(model, interpreter_path, views) -> dict:
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


# ## Cache the frozen outputs of every training view


def frozen_model_as_tflite(frozen_layer):
    """(tf_keras model, LiteRT interpreter) for the frozen hub layer on 224×224×3 inputs."""
    images = tf_keras.Input((224, 224, 3))
    model = tf_keras.Model(images, frozen_layer(images))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    interpreter = Interpreter(model_content=converter.convert(), num_threads=2)
    return model, interpreter


def run_interpreter(interpreter, batch: np.ndarray) -> np.ndarray:
    input_detail = interpreter.get_input_details()[0]
    if tuple(input_detail["shape"]) != batch.shape:
        interpreter.resize_tensor_input(input_detail["index"], list(batch.shape))
        interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def view_generator(photos, names, augmented_views: int, seed: int):
    """Yield (name index, view index, view): view 0 is the centre crop, views 1.. are random training views."""
    rng = np.random.default_rng(seed)
    for index, name in enumerate(names):
        image = flowers.read_image(photos[name])
        yield index, 0, flowers.center_crop(image)
        for view in range(1, augmented_views + 1):
            yield index, view, flowers.random_view(image, rng)


def compute_frozen_outputs(frozen_layer, photos, names, augmented_views: int, seed: int, label: str) -> np.ndarray:
    """Frozen outputs, shape (len(names), 1 + augmented_views, *output shape), float16."""
    model, interpreter = frozen_model_as_tflite(frozen_layer)
    output_shape = tuple(model.output.shape[1:])
    outputs = np.zeros((len(names), 1 + augmented_views, *output_shape), dtype=np.float16)
    start, done, pending = time.perf_counter(), 0, []

    def flush():
        batch = np.stack([view for _, _, view in pending])
        result = run_interpreter(interpreter, batch)
        if done == 0:  # Check the TFLite copy against TensorFlow itself on the first chunk.
            reference = model(batch, training=False).numpy()
            difference = float(np.abs(reference - result).max() / np.abs(reference).max())
            if difference > MAX_DIFFERENCE:
                raise RuntimeError(f"TFLite copy of the frozen backbone differs from TensorFlow by {difference}")
        for (index, view, _), output in zip(pending, result):
            outputs[index, view] = output
        pending.clear()

    total = len(names) * (1 + augmented_views)
    for item in view_generator(photos, names, augmented_views, seed):
        pending.append(item)
        if len(pending) == CHUNK:
            flush()
            done += CHUNK
            if done % (CHUNK * 40) == 0:
                rate = done / (time.perf_counter() - start)
                print(f"  {label}: {done}/{total} views, {rate:.1f}/s, ~{(total - done) / rate:.0f} s left",
                      flush=True)
    if pending:
        flush()
    return outputs


def frozen_outputs(frozen_layer, handle: str, photos, names, augmented_views: int, seed: int, label: str) -> np.ndarray:
    """``compute_frozen_outputs`` with a disk cache keyed by everything that changes the result."""
    key = json.dumps([str(handle), names, augmented_views, seed, flowers.PREPROCESSING_ID])
    path = paths.CACHE_DIR / f"flowers_{label}_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if path.exists():
        print(f"Reusing cached {label} backbone outputs from {path}")
        return np.load(path, allow_pickle=False)
    print(f"Computing frozen backbone outputs for {len(names)} {label} photos × {1 + augmented_views} views…")
    outputs = compute_frozen_outputs(frozen_layer, photos, names, augmented_views, seed, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, outputs, allow_pickle=False)
    return outputs


# ## Rebuild, check and save


def main() -> None:
    args = parse_args()
    tflite_path = data_path(args.tflite, "MOBILENET_INT8_TFLITE") or paths.shared_file(
        "pretrained/mobilenet_v2_1.0_224_imagenet_int8.tflite")
    if tflite_path is None:
        raise SystemExit("Pass --tflite: the int8 MobileNetV2 file is needed to rebuild the float network.")
    data_file = data_path(args.data, "FLOWERS_TGZ") or paths.shared_file("data/flower_photos.tgz")
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
