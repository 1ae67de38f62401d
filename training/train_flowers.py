"""Flower classifier: transfer learning from ImageNet MobileNetV2 through TensorFlow Hub (tf_flowers, 5 classes).

Run (offline, after `python training/rebuild_mobilenet.py`):
    python training/train_flowers.py --data ../shared/data/flower_photos.tgz

With internet: `--handle https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5` and no
`--data` (the archive is downloaded). The default handle is the local float MobileNetV2 rebuilt from the
int8 TFLite file (.cache/mobilenet_v2_100_224_feature_vector); it exposes its two halves, so the top
blocks (block 16 and the last 1×1 convolution, 0.9 M weights) can be fine-tuned while the bottom stays
frozen. The public handle is a single frozen feature extractor here (head only).

Recipe, as in the TensorFlow "transfer learning with TF Hub" tutorial plus fine-tuning:
1. A fixed stratified 80/20 split (seed and file list written to models/flowers/split.json).
2. The frozen bottom's output is cached for the centre crop and a few random views (crop, flip, colour
   jitter; see showcase.tasks.flowers) of every training photo -- augmentation stays out of the model.
3. A dropout + softmax head is trained on the pooled features, then the top blocks and the head are
   fine-tuned together at a low learning rate, one random view per photo and epoch.
4. One export step: SavedModel (tf_keras model with hub.KerasLayer), TFLite fp32, TFLite int8, ONNX;
   every format is evaluated on the validation photos, and the "not sure" threshold is chosen there.
"""

from __future__ import annotations

import os

# tensorflow_hub.KerasLayer needs Keras 2 (tf_keras): set for this training process only.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402

import numpy as np  # noqa: E402

import common  # noqa: E402
import flowers_data  # noqa: E402
import flowers_features  # noqa: E402
from showcase import export  # noqa: E402
from showcase.tasks import flowers
from showcase import manifest as manifest_lib  # noqa: E402
from showcase import paths, runtime  # noqa: E402
from showcase.tasks import flowers as flower_preprocessing  # noqa: E402

SEED = 20240
LOCAL_HANDLE = paths.CACHE_DIR / "mobilenet_v2_100_224_feature_vector"
PUBLIC_HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
LABELS = list(flower_preprocessing.LABELS)
BATCH_SIZE = 64
OUTPUT_DIR = paths.MODELS_DIR / "flowers"
# The "not sure" threshold: the lowest top probability above which validation predictions are this accurate.
TARGET_CONFIDENT_ACCURACY = 0.97


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="flower_photos.tgz; default: $FLOWERS_TGZ or the public download")
    parser.add_argument("--handle", default=os.environ.get("FLOWERS_HUB_HANDLE", str(LOCAL_HANDLE)),
                        help=f"TF Hub handle of the backbone (default: the local rebuild; public: {PUBLIC_HANDLE})")
    parser.add_argument("--views", type=int, default=3, help="random augmented views cached per training photo")
    parser.add_argument("--head-epochs", type=int, default=20)
    parser.add_argument("--fine-tune-epochs", type=int, default=6, help="0 trains the head only")
    parser.add_argument("--limit-per-class", type=int, help="use only this many photos per class (smoke tests)")
    return parser.parse_args()


# ## Backbone


def load_backbone(handle: str):
    """(frozen hub.KerasLayer, trainable top hub.KerasLayer or None) for a TF Hub handle."""
    import tensorflow_hub as hub

    if handle == str(LOCAL_HANDLE) and not (LOCAL_HANDLE / "saved_model.pb").exists():
        raise SystemExit(f"{handle} is missing: run `python training/rebuild_mobilenet.py` first.")
    module = hub.load(handle)
    if hasattr(module, "bottom") and hasattr(module, "top"):
        return hub.KerasLayer(module.bottom, trainable=False), hub.KerasLayer(module.top, trainable=True)
    print("This handle does not expose its top blocks: training the head on frozen features only.")
    return hub.KerasLayer(handle, trainable=False), None


# ## Model


def build_head():
    import tf_keras

    return tf_keras.Sequential(
        [tf_keras.layers.Dropout(0.2), tf_keras.layers.Dense(len(LABELS), name="logits")], name="head"
    )


def compile_model(model, learning_rate):
    import tf_keras

    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def pooling_function(top, map_shape):
    """Cached frozen outputs -> pooled 1280-d features (identity when the whole backbone is frozen)."""
    if top is None:
        return lambda features: features.astype(np.float32)
    import tf_keras

    inputs = tf_keras.Input(map_shape)
    model = tf_keras.Model(inputs, top(inputs))
    return lambda maps: model.predict(maps.astype(np.float32), batch_size=128, verbose=0)


def full_model(frozen, top, head):
    """Image (N, 224, 224, 3) in [0, 1] -> five class probabilities: the model that is exported."""
    import tf_keras

    images = tf_keras.Input((224, 224, 3), name="image")
    x = frozen(images)
    if top is not None:
        x = top(x)
    probabilities = tf_keras.layers.Softmax(name="probabilities")(head(x))
    return tf_keras.Model(images, probabilities, name="flowers_mobilenet_v2")


# ## Train


def train_head(head, pooled_train, y_train, pooled_validation, y_validation, epochs):
    """Stage 1: the head alone on pooled features of every cached view."""
    import tf_keras

    inputs = tf_keras.Input(pooled_train.shape[-1:])
    model = tf_keras.Model(inputs, head(inputs))
    compile_model(model, 1e-3)
    views = pooled_train.shape[1]
    model.fit(pooled_train.reshape(-1, pooled_train.shape[-1]), np.repeat(y_train, views), batch_size=BATCH_SIZE,
              epochs=epochs, validation_data=(pooled_validation, y_validation), verbose=2, shuffle=True)


def fine_tune(top, head, maps_train, y_train, maps_validation, y_validation, epochs):
    """Stage 2: top blocks + head at a low learning rate, one random cached view per photo and epoch."""
    import tf_keras

    inputs = tf_keras.Input(maps_train.shape[2:])
    model = tf_keras.Model(inputs, head(top(inputs)))
    steps = epochs * int(np.ceil(len(y_train) / BATCH_SIZE))
    compile_model(model, tf_keras.optimizers.schedules.CosineDecay(1e-4, steps, alpha=0.05))
    rng = np.random.default_rng(SEED)
    for epoch in range(epochs):
        chosen = rng.integers(0, maps_train.shape[1], size=len(y_train))
        x = maps_train[np.arange(len(y_train)), chosen].astype(np.float32)
        model.fit(x, y_train, batch_size=BATCH_SIZE, epochs=epoch + 1, initial_epoch=epoch, verbose=2,
                  validation_data=(maps_validation.astype(np.float32), y_validation), shuffle=True)


# ## Evaluate


def evaluate_formats(views, y_validation):
    """Accuracy of every exported format on the validation photos, and agreement with the SavedModel."""
    outputs = {}
    for name in ("savedmodel", "tflite", "tflite_int8", "onnx"):
        predictor = runtime.load("flowers", name)
        outputs[name] = np.concatenate([predictor.predict(views[i:i + 32]) for i in range(0, len(views), 32)])
    reference = outputs["savedmodel"].argmax(1)
    per_format = {
        name: {
            "accuracy": round(float(np.mean(output.argmax(1) == y_validation)), 5),
            "argmax_agreement_with_savedmodel": round(float(np.mean(output.argmax(1) == reference)), 5),
            "batch1_p50_ms": flowers.batch1_p50_ms(runtime.load("flowers", name), views[0]),
        }
        for name, output in outputs.items()
    }
    return per_format, outputs["savedmodel"]


# ## Export


def write_samples(photos, validation_names, probabilities, y_validation, threshold, per_class=2):
    """The first validation photos of each class that the model gets right above the "not sure" threshold.

    They are the page's gallery and the model tests' fixtures (archive bytes, untouched); CREDITS.md links
    each photo's Flickr page (CC BY 2.0).
    """
    directory = paths.SAMPLES_DIR / "flowers"
    for old in directory.glob("*.jpg"):
        old.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    credits = ["# Sample photos: credits", "",
               "Validation photos from the tf_flowers archive (`flower_photos.tgz`), Flickr photos under the",
               "Creative Commons Attribution 2.0 licence (https://creativecommons.org/licenses/by/2.0/). The",
               "photographers are named in the original archive's LICENSE.txt; each photo's Flickr page is linked.",
               "Chosen by `training/train_flowers.py`: the first validation photos of each class (in split order)",
               "that the model classifies correctly above its \"not sure\" threshold.", ""]
    for label_index, label in enumerate(LABELS):
        chosen = [i for i, name in enumerate(validation_names)
                  if y_validation[i] == label_index and probabilities[i].argmax() == label_index
                  and probabilities[i].max() >= threshold][:per_class]
        for i in chosen:
            file_name = validation_names[i].replace("/", "_")
            (directory / file_name).write_bytes(photos[validation_names[i]])
            photo_id = validation_names[i].split("/")[1].split("_")[0]
            credits.append(f"- `{file_name}`: {label}, Flickr photo {photo_id} "
                           f"(https://www.flickr.com/photo.gne?id={photo_id}), CC BY 2.0")
    (directory / "CREDITS.md").write_text("\n".join(credits) + "\n")


def main() -> None:
    args = parse_args()
    stopwatch = common.Stopwatch()
    common.set_seed(SEED)
    data_file = flowers_data.archive_path(common.data_path(args.data, "FLOWERS_TGZ"))
    photos = flowers_data.read_archive(data_file)
    if args.limit_per_class:
        photos = {name: photos[name] for label in LABELS
                  for name in sorted(n for n in photos if n.startswith(label + "/"))[:args.limit_per_class]}
    train_names, validation_names = flowers_data.stratified_split(photos, SEED)
    y_train = np.array([flowers_data.label_of(name) for name in train_names])
    y_validation = np.array([flowers_data.label_of(name) for name in validation_names])
    print(f"{len(train_names)} training and {len(validation_names)} validation photos.")

    frozen, top = load_backbone(args.handle)
    maps_train = flowers_features.cached(frozen, args.handle, photos, train_names, args.views, SEED, "train")
    maps_validation = flowers_features.cached(
        frozen, args.handle, photos, validation_names, 0, SEED, "validation")[:, 0]

    head = build_head()
    pool = pooling_function(top, maps_train.shape[2:])
    pooled_train = np.stack([pool(maps_train[:, view]) for view in range(maps_train.shape[1])], axis=1)
    train_head(head, pooled_train, y_train, pool(maps_validation), y_validation, args.head_epochs)
    if top is not None and args.fine_tune_epochs:
        fine_tune(top, head, maps_train, y_train, maps_validation, y_validation, args.fine_tune_epochs)
    training_seconds = stopwatch.seconds

    import tensorflow as tf

    model = full_model(frozen, top, head)
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    savedmodel_dir = export.export_serving_savedmodel(
        model, OUTPUT_DIR / "savedmodel", [tf.TensorSpec([None, 224, 224, 3], tf.float32, name="image")])
    # int8 calibration: centre crops (what the app serves) of 200 random training photos.
    calibration_names = np.random.default_rng(SEED + 1).choice(train_names, min(200, len(train_names)), replace=False)
    calibration = [flower_preprocessing.prepare_photo(photos[name])[1] for name in calibration_names]
    artifacts = export.export_all_from_savedmodel(
        savedmodel_dir, OUTPUT_DIR, lambda: (view[None] for view in calibration))
    split_path = OUTPUT_DIR / "split.json"
    split_path.write_text(json.dumps({"seed": SEED, "validation_fraction": flowers_data.VALIDATION_FRACTION,
                                      "train": train_names, "validation": validation_names}, indent=0) + "\n")

    rebuild_check = paths.CACHE_DIR / "mobilenet_v2_rebuild_check.json"
    entry = {
        "name": "flowers",
        "title": "Flowers",
        "task": "image classification (5 classes)",
        "page": "flowers",
        "summary": "Upload a flower photo; ImageNet MobileNetV2 fine-tuned on tf_flowers names it.",
        "labels": LABELS,
        "input": {"shape": [None, 224, 224, 3], "dtype": "float32", "range": [0.0, 1.0]},
        "preprocessing": flower_preprocessing.PREPROCESSING_ID,
        "artifacts": common.describe_artifacts(artifacts),
        "data": {
            "description": f"tf_flowers: {len(photos)} Flickr photos of daisies, dandelions, roses, sunflowers "
            f"and tulips; fixed stratified 80/20 split (seed {SEED}): {len(train_names)} training and "
            f"{len(validation_names)} validation photos (file lists in models/flowers/split.json).",
            "source": "TensorFlow flower_photos.tgz (tf_flowers)",
            "license": "CC BY 2.0 (photographers credited in the original archive's LICENSE.txt)",
        },
        "architecture": "MobileNetV2 1.0/224 ImageNet backbone loaded with tensorflow_hub.KerasLayer "
        f"({'local float rebuild of the int8 TFLite weights' if top else args.handle}), 1280-d pooled features, "
        "dropout 0.2, softmax over 5 classes. Head trained on cached frozen features of augmented views "
        f"(centre crop + {args.views} random crops/flips/colour jitters per photo)"
        + (f", then block 16 and the last 1×1 convolution fine-tuned with the head for {args.fine_tune_epochs} "
           "epochs (Adam, cosine decay from 1e-4)." if top and args.fine_tune_epochs else "."),
        "parameters": int(model.count_params()),
        "training": {
            "seconds": training_seconds,
            "epochs": args.head_epochs + (args.fine_tune_epochs if top else 0),
            "seed": SEED,
            "batch_size": BATCH_SIZE,
            "command": "python training/rebuild_mobilenet.py && "
                       "python training/train_flowers.py --data ../shared/data/flower_photos.tgz",
            "machine": common.machine_description(),
            "backbone_handle": args.handle if args.handle != str(LOCAL_HANDLE) else ".cache/" + LOCAL_HANDLE.name,
        },
        "versions": common.versions() | manifest_lib.library_versions("tf-keras", "tensorflow-hub"),
        "created": manifest_lib.utc_now(),
        "metrics": {"dataset": "tf_flowers", "split": "validation (20%, stratified)", "n": len(validation_names),
                    "headline": "accuracy", "values": {}},
    }
    manifest_lib.update_model_entry(entry)

    views = flower_preprocessing.to_model_input(
        [flower_preprocessing.prepare_photo(photos[name])[1] for name in validation_names])
    per_format, probabilities = evaluate_formats(views, y_validation)
    confusion, per_class = flowers.class_report(probabilities, y_validation, LABELS)
    threshold = flowers.choose_threshold(probabilities, y_validation, TARGET_CONFIDENT_ACCURACY)
    entry["metrics"]["values"] = {"accuracy": per_format["savedmodel"]["accuracy"]} | {
        f"recall_{label}": figures["recall"] for label, figures in per_class.items()}
    entry["metrics"]["per_format"] = per_format
    entry["extra"] = {
        "confusion_matrix": confusion.tolist(),
        "per_class": per_class,
        "not_sure": threshold,
        "split": {"seed": SEED, "file": "flowers/split.json",
                  "sha256": hashlib.sha256(split_path.read_bytes()).hexdigest()},
        "backbone_rebuild_check": json.loads(rebuild_check.read_text()) if rebuild_check.exists() else None,
        "artifacts_total_bytes": sum(record["bytes"] for record in entry["artifacts"].values()),
    }
    manifest_lib.update_model_entry(entry)
    write_samples(photos, validation_names, probabilities, y_validation, threshold["threshold"])
    print(f"Validation accuracy {per_format['savedmodel']['accuracy']:.4f} on {len(validation_names)} photos; "
          f"trained in {training_seconds:.0f} s; not-sure threshold {threshold}.")
    for name, figures in per_format.items():
        print(f"  {name:12s} {figures}")


if __name__ == "__main__":
    main()
