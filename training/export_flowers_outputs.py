"""Re-export the trained flowers model with its logits and pooled features beside its probabilities.

Run (nothing is retrained; about five minutes on two cores):
    python training/export_flowers_outputs.py --data ../shared/data/flower_photos.tgz

The out-of-distribution score of the Flowers page (``training/fit_ood.py flowers``) needs the backbone's 1280-d
pooled features and the head's logits at serving time, in every served format. This script rebuilds the exact
network of ``training/train_flowers.py`` (the folded MobileNetV2 of ``training/flowers_backbone.py``, split at
block 15, and the dense head), fills it with the committed SavedModel's 106 trained variables (matched by name
and shape), checks that its probabilities equal the committed SavedModel's on the sample photos, and writes the
four served formats again with three named outputs: ``probabilities`` (what every consumer reads, as before),
``logits`` and ``features``. The full-int8 TFLite file is calibrated on the same 200 training photos as at
training time. Artifact records in the manifest entry are updated; its figures are not (the probabilities are
unchanged, and ``training/calibrate.py`` and ``training/fit_ood.py`` measure each format anew).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras
from common import data_path
from flowers_backbone import archive_path, folded_mobilenet_v2, split
from train_flowers import OUTPUT_DIR, SEED, build_head, full_model

from showcase import datasets, export, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import flowers

CALIBRATION_PHOTOS = 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="flower_photos.tgz; default: $FLOWERS_TGZ or ../shared/data/flower_photos.tgz")
    return parser.parse_args()


def trained_model() -> tf_keras.Model:
    """The served network with three outputs, carrying the committed SavedModel's trained variables."""
    saved = {variable.name: variable.numpy()
             for variable in tf.saved_model.load(str(OUTPUT_DIR / "savedmodel")).model_variables}
    bottom, top = split(folded_mobilenet_v2())
    model = full_model(bottom, top, build_head())
    if len(model.variables) != len(saved):
        raise SystemExit(f"The rebuilt network has {len(model.variables)} variables, the SavedModel {len(saved)}.")
    for variable in model.variables:
        variable.assign(saved[variable.name])
    return model


def check_unchanged(model) -> float:
    """The largest probability difference from the committed SavedModel on the sample photos."""
    views = flowers.calibration_inputs({})
    committed = runtime.load("flowers", "savedmodel").predict(views)
    difference = float(np.abs(model(views, training=False)["probabilities"].numpy() - committed).max())
    if difference > 1e-5:
        raise SystemExit(f"The rebuilt model's probabilities differ from the committed ones by {difference}.")
    return difference


def calibration_views(photos_path: Path) -> list[np.ndarray]:
    """Centre crops of the 200 training photos the training script calibrated int8 on (same seed)."""
    train_names = json.loads((OUTPUT_DIR / "split.json").read_text())["train"]
    chosen = np.random.default_rng(SEED + 1).choice(train_names, min(CALIBRATION_PHOTOS, len(train_names)),
                                                    replace=False)
    photos = datasets.flower_photos(photos_path)
    return [flowers.prepare_photo(photos[name])[1] for name in chosen]


def main() -> None:
    args = parse_args()
    photos_path = archive_path(data_path(args.data, "FLOWERS_TGZ") or Path("../shared/data/flower_photos.tgz"))
    model = trained_model()
    print(f"Rebuilt; largest probability difference from the committed SavedModel: {check_unchanged(model):.2e}")
    views = calibration_views(photos_path)
    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch)
        savedmodel_dir = export.export_serving_savedmodel(
            model, staging / "savedmodel", [tf.TensorSpec([None, 224, 224, 3], tf.float32, name="image")])
        written = export.export_all_from_savedmodel(savedmodel_dir, staging,
                                                    lambda: (view[None] for view in views))
        entry = manifest_lib.model_entry("flowers")
        for format_name, path in written.items():
            target = manifest_lib.artifact_path(entry, format_name)
            if target.is_dir():
                shutil.rmtree(target)
            shutil.move(str(path), str(target))
            entry["artifacts"][format_name] = manifest_lib.describe_artifact(target)
    entry["extra"]["artifacts_total_bytes"] = sum(record["bytes"] for record in entry["artifacts"].values())
    manifest_lib.update_model_entry(entry)
    print(json.dumps(entry["artifacts"], indent=1))


if __name__ == "__main__":
    main()
