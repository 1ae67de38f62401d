"""The folder layout that TensorFlow Serving loads, made from the committed SavedModels without copying them.

    python -m showcase.tf_serving                        # .cache/tf-serving/<name>/1/ and models.config
    python -m showcase.tf_serving --output /srv/models --copy

TensorFlow Serving expects ``<base>/<name>/<version>/saved_model.pb`` (plus ``variables/``) and serves the
highest version it finds. Here every model has one version (the API's ``VERSION``, 1). The layout's version
folders are symbolic links to ``models/<name>/savedmodel`` (``--copy``: copies, for a machine or container that
cannot follow links out of the folder). ``models.config`` lists every model for ``--model_config_file``.
docker-compose.yml does the same without this script: it mounts each ``models/<name>/savedmodel`` at
``/models/<name>/1`` and uses deploy/tf-serving/models.config.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from showcase import manifest as manifest_lib
from showcase import paths
from showcase.formats import SAVEDMODEL

VERSION = 1
DEFAULT_OUTPUT = paths.REPO_ROOT / ".cache" / "tf-serving"


def model_config(names: list[str], base: str) -> str:
    """TensorFlow Serving's ``--model_config_file`` (text protobuf) for ``names`` under ``base``."""
    entries = "".join(f'  config {{\n    name: "{name}"\n    base_path: "{base}/{name}"\n    model_platform: '
                      f'"tensorflow"\n  }}\n' for name in names)
    return f"model_config_list {{\n{entries}}}\n"


def build_layout(output: Path, copy: bool = False, manifest: dict | None = None) -> dict[str, Path]:
    """Make ``output/<name>/<VERSION>`` for every model with a SavedModel, and ``output/models.config``.

    Returns name -> version folder. An existing layout is replaced.
    """
    manifest = manifest or manifest_lib.load_manifest()
    folders = {}
    for name, entry in manifest["models"].items():
        if SAVEDMODEL not in entry["artifacts"]:
            continue
        source = manifest_lib.artifact_path(entry, SAVEDMODEL)
        version_folder = output / name / str(VERSION)
        if version_folder.is_symlink() or version_folder.is_file():
            version_folder.unlink()
        elif version_folder.exists():
            shutil.rmtree(version_folder)
        version_folder.parent.mkdir(parents=True, exist_ok=True)
        if copy:
            shutil.copytree(source, version_folder)
        else:
            # Relative, so that the layout still works when the checkout moves.
            version_folder.symlink_to(os.path.relpath(source, version_folder.parent), target_is_directory=True)
        folders[name] = version_folder
    (output / "models.config").write_text(model_config(list(folders), str(output.resolve())))
    return folders


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m showcase.tf_serving", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--copy", action="store_true", help="copy the SavedModels instead of linking to them")
    args = parser.parse_args(argv)
    folders = build_layout(args.output, args.copy)
    for folder in folders.values():
        print(f"{folder}  ({'copy' if args.copy else '-> ' + os.readlink(folder)})")
    print(f"tensorflow_model_server --rest_api_port=8501 --model_config_file={args.output.resolve()}/models.config")


if __name__ == "__main__":
    main()
