"""Cache the frozen backbone's output for every training view, so that each epoch costs only the top.

The frozen part of the backbone (MobileNetV2 up to block 15 with the local rebuild, or the whole feature
extractor with a public TF Hub handle) is the same function in every epoch, so its output is computed
once per view: the centre crop of each photo plus ``augmented_views`` random crops/flips/colour jitters
of each training photo. On two CPU cores TensorFlow runs MobileNetV2 at a handful of images per second,
so this one pass goes through the same frozen layer converted to an fp32 TFLite model (LiteRT's XNNPACK
kernels are several times faster on CPU; outputs agree with TensorFlow to ~1e-4, checked below).
Results are stored as float16 in .cache/ and reused by later runs with the same settings.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from showcase import paths
from showcase.tasks import flowers as flower_preprocessing

CHUNK = 16
MAX_DIFFERENCE = 1e-2  # relative to the output's largest value


def frozen_model_as_tflite(frozen_layer):
    """(tf_keras model, LiteRT interpreter) for the frozen hub layer on 224×224×3 inputs."""
    import tensorflow as tf
    import tf_keras
    from ai_edge_litert.interpreter import Interpreter

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
        image = flower_preprocessing.read_image(photos[name])
        yield index, 0, flower_preprocessing.center_crop(image)
        for view in range(1, augmented_views + 1):
            yield index, view, flower_preprocessing.random_view(image, rng)


def compute(frozen_layer, photos, names, augmented_views: int, seed: int, label: str) -> np.ndarray:
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


def cached(frozen_layer, handle: str, photos, names, augmented_views: int, seed: int, label: str) -> np.ndarray:
    """``compute`` with a disk cache keyed by everything that changes the result."""
    key = json.dumps([str(handle), names, augmented_views, seed, flower_preprocessing.PREPROCESSING_ID])
    path = paths.CACHE_DIR / f"flowers_{label}_{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if path.exists():
        print(f"Reusing cached {label} backbone outputs from {path}")
        return np.load(path, allow_pickle=False)
    print(f"Computing frozen backbone outputs for {len(names)} {label} photos × {1 + augmented_views} views…")
    outputs = compute(frozen_layer, photos, names, augmented_views, seed, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, outputs, allow_pickle=False)
    return outputs
