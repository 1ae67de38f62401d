"""Flower classifier: transfer learning from ImageNet MobileNetV2 through TensorFlow Hub (tf_flowers, 5 classes).

Run (offline, after `python training/flowers_backbone.py`):
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

The backbone's rebuild and the cache of its frozen outputs are in ``training/flowers_backbone.py``. Writes
models/flowers/{savedmodel,model.tflite,model_int8.tflite,model.onnx,split.json}, the sample photos and their
credits in samples/flowers/, and the "flowers" entry of models/manifest.json.
"""

# ## Setup

from __future__ import annotations

import os

# tensorflow_hub.KerasLayer needs Keras 2 (tf_keras): set for this training process only.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse
import hashlib
import json
import shutil

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras
from common import (
    FORMATS,
    classification_figures,
    data_path,
    evaluate_formats,
    manifest_entry,
    start_run,
    training_record,
)
from flowers_backbone import BACKBONE_DIR, CHECK_PATH, archive_path, frozen_outputs

from showcase import datasets, export, paths, runtime
from showcase import manifest as manifest_lib
from showcase.formats import SAVEDMODEL
from showcase.tasks import flowers

SEED = 20240
LOCAL_HANDLE = BACKBONE_DIR
PUBLIC_HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
LABELS = list(flowers.LABELS)
BATCH_SIZE = 64
VALIDATION_FRACTION = 0.2
OUTPUT_DIR = paths.MODELS_DIR / "flowers"
# The "not sure" threshold: the lowest top probability above which validation predictions are this accurate.
TARGET_CONFIDENT_ACCURACY = 0.97
COMMAND = ("python training/flowers_backbone.py && "
           "python training/train_flowers.py --data ../shared/data/flower_photos.tgz")


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


# ## Data


def read_photos(args) -> dict[str, bytes]:
    """The archive's photos (``{"daisy/100080576_f52e8ee070_n.jpg": jpeg bytes, ...}``), all of them or the
    first ``--limit-per-class`` of each class."""
    photos = datasets.flower_photos(archive_path(data_path(args.data, "FLOWERS_TGZ")))
    if args.limit_per_class:
        photos = {name: photos[name] for label in LABELS
                  for name in sorted(n for n in photos if n.startswith(label + "/"))[:args.limit_per_class]}
    return photos


def label_of(name: str) -> int:
    return LABELS.index(name.split("/")[0])


def labels_of(names) -> np.ndarray:
    return np.array([label_of(name) for name in names])


def stratified_split(names, seed: int) -> tuple[list[str], list[str]]:
    """A fixed 80/20 split per class: sorted names, shuffled with ``seed``, the first 20% validate."""
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for label in LABELS:
        members = sorted(name for name in names if name.startswith(label + "/"))
        order = rng.permutation(len(members))
        cut = round(len(members) * VALIDATION_FRACTION)
        validation += [members[i] for i in sorted(order[:cut])]
        train += [members[i] for i in sorted(order[cut:])]
    return train, validation


# ## Model


def load_backbone(handle: str):
    """(frozen hub.KerasLayer, trainable top hub.KerasLayer or None) for a TF Hub handle."""
    if handle == str(LOCAL_HANDLE) and not (LOCAL_HANDLE / "saved_model.pb").exists():
        raise SystemExit(f"{handle} is missing: run `python training/flowers_backbone.py` first.")
    module = hub.load(handle)
    if hasattr(module, "bottom") and hasattr(module, "top"):
        return hub.KerasLayer(module.bottom, trainable=False), hub.KerasLayer(module.top, trainable=True)
    print("This handle does not expose its top blocks: training the head on frozen features only.")
    return hub.KerasLayer(handle, trainable=False), None


def build_head():
    return tf_keras.Sequential(
        [tf_keras.layers.Dropout(0.2), tf_keras.layers.Dense(len(LABELS), name="logits")], name="head"
    )


def compile_model(model, learning_rate):
    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def pooling_function(top, map_shape):
    """Cached frozen outputs -> pooled 1280-d features (identity when the whole backbone is frozen)."""
    if top is None:
        return lambda features: features.astype(np.float32)
    inputs = tf_keras.Input(map_shape)
    model = tf_keras.Model(inputs, top(inputs))
    return lambda maps: model.predict(maps.astype(np.float32), batch_size=128, verbose=0)


def full_model(frozen, top, head):
    """Image (N, 224, 224, 3) in [0, 1] -> five class probabilities, with the logits and the 1280-d pooled
    features they come from (read by the out-of-distribution score): the model that is exported."""
    images = tf_keras.Input((224, 224, 3), name="image")
    features = frozen(images)
    if top is not None:
        features = top(features)
    logits = head(features)
    probabilities = tf_keras.layers.Softmax(name="probabilities")(logits)
    outputs = dict(zip(flowers.OUTPUT_NAMES, (probabilities, logits, features)))
    return tf_keras.Model(images, outputs, name="flowers_mobilenet_v2")


# ## Train


def train_head(head, pooled_train, y_train, pooled_validation, y_validation, epochs):
    """Stage 1: the head alone on pooled features of every cached view."""
    inputs = tf_keras.Input(pooled_train.shape[-1:])
    model = tf_keras.Model(inputs, head(inputs))
    compile_model(model, 1e-3)
    views = pooled_train.shape[1]
    model.fit(pooled_train.reshape(-1, pooled_train.shape[-1]), np.repeat(y_train, views), batch_size=BATCH_SIZE,
              epochs=epochs, validation_data=(pooled_validation, y_validation), verbose=2, shuffle=True)


def fine_tune(top, head, maps_train, y_train, maps_validation, y_validation, epochs):
    """Stage 2: top blocks + head at a low learning rate, one random cached view per photo and epoch."""
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


def train(args, frozen, top, photos, train_names, validation_names):
    """Cache the frozen backbone's outputs, train the head, then fine-tune the top blocks with it; the head."""
    y_train, y_validation = labels_of(train_names), labels_of(validation_names)
    maps_train = frozen_outputs(frozen, args.handle, photos, train_names, args.views, SEED, "train")
    maps_validation = frozen_outputs(frozen, args.handle, photos, validation_names, 0, SEED, "validation")[:, 0]

    head = build_head()
    pool = pooling_function(top, maps_train.shape[2:])
    pooled_train = np.stack([pool(maps_train[:, view]) for view in range(maps_train.shape[1])], axis=1)
    train_head(head, pooled_train, y_train, pool(maps_validation), y_validation, args.head_epochs)
    if top is not None and args.fine_tune_epochs:
        fine_tune(top, head, maps_train, y_train, maps_validation, y_validation, args.fine_tune_epochs)
    return head


# ## Evaluate


def evaluate_and_record(entry, photos, validation_names, split_path):
    """Measure every format on the validation photos, choose the "not sure" threshold, write the figures;
    return the SavedModel's validation probabilities and the threshold."""
    y_validation = labels_of(validation_names)
    views = flowers.to_model_input([flowers.prepare_photo(photos[name])[1] for name in validation_names])

    def probabilities_of(predictor):
        return np.concatenate([predictor.predict(views[i:i + 32]) for i in range(0, len(views), 32)])

    per_format, outputs = evaluate_formats(
        "flowers", FORMATS, probabilities_of,
        lambda probabilities, reference: classification_figures(probabilities, reference, y_validation))
    for name, figures in per_format.items():
        figures["batch1_p50_ms"] = flowers.batch1_p50_ms(runtime.load("flowers", name), views[0])
    probabilities = outputs[SAVEDMODEL]
    confusion, per_class = flowers.class_report(probabilities, y_validation, LABELS)
    threshold = flowers.choose_threshold(probabilities, y_validation, TARGET_CONFIDENT_ACCURACY)
    entry["metrics"]["values"] = {"accuracy": per_format[SAVEDMODEL]["accuracy"]} | {
        f"recall_{label}": figures["recall"] for label, figures in per_class.items()}
    entry["metrics"]["per_format"] = per_format
    entry["extra"] = {
        "confusion_matrix": confusion.tolist(),
        "per_class": per_class,
        "not_sure": threshold,
        "split": {"seed": SEED, "file": "flowers/split.json",
                  "sha256": hashlib.sha256(split_path.read_bytes()).hexdigest()},
        "backbone_rebuild_check": json.loads(CHECK_PATH.read_text()) if CHECK_PATH.exists() else None,
        "artifacts_total_bytes": sum(record["bytes"] for record in entry["artifacts"].values()),
    }
    manifest_lib.update_model_entry(entry)
    print(f"Validation accuracy {per_format[SAVEDMODEL]['accuracy']:.4f} on {len(validation_names)} photos; "
          f"trained in {entry['training']['seconds']:.0f} s; not-sure threshold {threshold}.")
    for name, figures in per_format.items():
        print(f"  {name:12s} {figures}")
    return probabilities, threshold


# ## Export


def export_formats(model, photos, train_names):
    """SavedModel, then TFLite fp32, TFLite int8 and ONNX converted from it, into models/flowers/."""
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    savedmodel_dir = export.export_serving_savedmodel(
        model, OUTPUT_DIR / "savedmodel", [tf.TensorSpec([None, 224, 224, 3], tf.float32, name="image")])
    # int8 calibration: centre crops (what the app serves) of 200 random training photos.
    calibration_names = np.random.default_rng(SEED + 1).choice(train_names, min(200, len(train_names)), replace=False)
    calibration = [flowers.prepare_photo(photos[name])[1] for name in calibration_names]
    return export.export_all_from_savedmodel(savedmodel_dir, OUTPUT_DIR, lambda: (view[None] for view in calibration))


def write_split(train_names, validation_names):
    split_path = OUTPUT_DIR / "split.json"
    split_path.write_text(json.dumps({"seed": SEED, "validation_fraction": VALIDATION_FRACTION,
                                      "train": train_names, "validation": validation_names}, indent=0) + "\n")
    return split_path


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
    stopwatch = start_run(SEED)
    photos = read_photos(args)
    train_names, validation_names = stratified_split(photos, SEED)
    print(f"{len(train_names)} training and {len(validation_names)} validation photos.")

    frozen, top = load_backbone(args.handle)
    head = train(args, frozen, top, photos, train_names, validation_names)
    training_seconds = stopwatch.seconds

    model = full_model(frozen, top, head)
    artifacts = export_formats(model, photos, train_names)
    split_path = write_split(train_names, validation_names)

    fine_tuned = bool(top and args.fine_tune_epochs)
    entry = manifest_entry(
        "flowers",
        title="Flowers",
        task="image classification (5 classes)",
        summary="Upload a flower photo; ImageNet MobileNetV2 fine-tuned on tf_flowers names it.",
        labels=LABELS,
        input_shape=(224, 224, 3), input_dtype="float32", input_range=(0.0, 1.0),
        preprocessing=flowers.PREPROCESSING_ID,
        data=f"tf_flowers: {len(photos)} Flickr photos of daisies, dandelions, roses, sunflowers "
        f"and tulips; fixed stratified 80/20 split (seed {SEED}): {len(train_names)} training and "
        f"{len(validation_names)} validation photos (file lists in models/flowers/split.json).",
        data_source="TensorFlow flower_photos.tgz (tf_flowers)",
        data_license="CC BY 2.0 (photographers credited in the original archive's LICENSE.txt)",
        architecture="MobileNetV2 1.0/224 ImageNet backbone loaded with tensorflow_hub.KerasLayer "
        f"({'local float rebuild of the int8 TFLite weights' if top else args.handle}), 1280-d pooled features, "
        "dropout 0.2, softmax over 5 classes. Head trained on cached frozen features of augmented views "
        f"(centre crop + {args.views} random crops/flips/colour jitters per photo)"
        + (f", then block 16 and the last 1×1 convolution fine-tuned with the head for {args.fine_tune_epochs} "
           "epochs (Adam, cosine decay from 1e-4)." if fine_tuned else "."),
        artifacts=artifacts,
        parameters=model.count_params(),
        training=training_record(
            training_seconds, args.head_epochs + (args.fine_tune_epochs if top else 0), SEED, BATCH_SIZE, COMMAND,
            details={"backbone_handle": args.handle if args.handle != str(LOCAL_HANDLE)
                     else ".cache/" + LOCAL_HANDLE.name}),
        metrics={"dataset": "tf_flowers", "split": "validation (20%, stratified)", "n": len(validation_names),
                 "headline": "accuracy", "values": {}},
        more_packages=("tf-keras", "tensorflow-hub"),
    )
    manifest_lib.update_model_entry(entry)
    probabilities, threshold = evaluate_and_record(entry, photos, validation_names, split_path)
    write_samples(photos, validation_names, probabilities, labels_of(validation_names), threshold["threshold"])


if __name__ == "__main__":
    main()
