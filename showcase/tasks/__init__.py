"""The models this project serves: one module per model in this package, and the registry that lists them.

Each model has one name everywhere: its manifest key and ``models/<name>/`` folder, its module here
(``showcase/tasks/<name>.py``), its page (``app/pages/<name>.py``), its training script
(``training/train_<name>.py``), its tests and its docs (``docs/<name>.md``). A model module holds that
model's preprocessing, its serving code, its evaluation subset for the Formats page (``EVALUATION``), its
int8 calibration inputs (``calibration_inputs``) and the charts its page draws. The shared infrastructure
(manifest, runtime, export, imaging, datasets, paths) stays outside this package.

    tasks.names()               # ("digits", "flowers", ...), in navigation order
    tasks.task("flowers")       # the showcase.tasks.flowers module, imported on first use

Importing this package imports no model module: the entry script reads the registry on every rerun.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Headline:
    """How the Home page words a model's headline metric: "99.57% accuracy on handwritten test digits"."""

    metric: str  # the manifest's ``metrics.headline``
    label: str  # the words after the value
    value_format: str = ".2%"  # how the value is written (a format spec)

    def text(self, value: float) -> str:
        return f"{value:{self.value_format}} {self.label}"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    title: str  # the page's title in the navigation
    icon: str  # a Streamlit Material icon
    headline: Headline


# In navigation order.
MODELS = (
    ModelInfo("digits", "Digits", ":material/draw:", Headline("accuracy", "accuracy on handwritten test digits")),
    ModelInfo("flowers", "Flowers", ":material/local_florist:",
              Headline("accuracy", "accuracy on held-out flower photos", ".1%")),
    ModelInfo("sentiment", "Sentiment", ":material/reviews:",
              Headline("accuracy", "accuracy on held-out movie reviews", ".1%")),
    ModelInfo("forecast", "Stock forecast", ":material/show_chart:",
              Headline("coverage_80_h5", "of prices 5 trading days ahead fell inside the 80% interval", ".1%")),
    ModelInfo("anomaly", "Anomaly detection", ":material/troubleshoot:",
              Headline("roc_auc_fashion_mnist", "ROC-AUC telling handwritten digits from Fashion-MNIST images",
                       ".4f")),
    ModelInfo("gan", "Digit GAN", ":material/auto_awesome:",
              Headline("digit_accuracy", "of generated digits read as requested")),
)


def names() -> tuple[str, ...]:
    """Every model's name, in navigation order."""
    return tuple(model.name for model in MODELS)


def info(name: str) -> ModelInfo:
    """The registry's record of one model; ValueError naming the known models for any other name."""
    for model in MODELS:
        if model.name == name:
            return model
    raise ValueError(f"Unknown model {name!r}; the models are {', '.join(names())}.")


def task(name: str) -> ModuleType:
    """The model's module, ``showcase.tasks.<name>``."""
    return importlib.import_module(f"{__name__}.{info(name).name}")
