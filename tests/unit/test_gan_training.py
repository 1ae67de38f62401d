"""The GAN's networks and its train_step on a tiny batch (no data files, no committed artifacts needed).

``training/train_gan.py --dry-run`` builds both networks, runs them once and trains them for two steps on 16
random images, and prints what it saw as one line of JSON; these tests read that line.
"""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from showcase import paths
from showcase.tasks import gan

# Found without importing it: the training runs in a subprocess, and this process stays free of TensorFlow.
if importlib.util.find_spec("tensorflow") is None:
    pytest.skip("needs TensorFlow (requirements-dev.txt)", allow_module_level=True)


@pytest.fixture(scope="module")
def dry_run():
    completed = subprocess.run([sys.executable, "training/train_gan.py", "--dry-run"], cwd=paths.REPO_ROOT,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_generator_takes_one_latent_and_digit_tensor_and_draws_28x28_images_in_the_unit_range(dry_run):
    assert dry_run["generator_input_shape"] == [None, gan.LATENT_DIM + gan.NUM_CLASSES]
    assert dry_run["images_shape"] == [4, 28, 28, 1] and dry_run["images_min"] >= 0 and dry_run["images_max"] <= 1


def test_the_discriminator_scores_and_classifies(dry_run):
    assert dry_run["score_shape"] == [3, 1] and dry_run["logits_shape"] == [3, 10]


def test_one_train_step_updates_both_networks_with_finite_losses(dry_run):
    assert all(np.isfinite(dry_run[name]) for name in ("d_loss", "g_loss"))
    assert dry_run["weights_moved"] and all(dry_run["weights_moved"])
