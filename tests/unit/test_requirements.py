"""The hosted serving set (app/requirements.txt) is requirements.txt without TensorFlow and Keras, pin for pin."""

import re

from showcase import paths

HEAVY = {"tensorflow", "tensorflow-cpu", "tf-keras", "keras", "tensorflow-hub", "tf2onnx"}


def pins(path) -> dict[str, str]:
    """name -> version of every ``name==version`` line (names normalised as pip does)."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith("-"), f"{path.name}: {line!r} (the hosted set must stand alone)"
        name, separator, version = line.partition("==")
        assert separator, f"{path.name}: {line!r} is not pinned"
        result[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    return result


def test_the_hosted_set_leaves_tensorflow_and_keras_out():
    hosted = pins(paths.REPO_ROOT / "app" / "requirements.txt")
    assert hosted and not HEAVY & set(hosted), HEAVY & set(hosted)


def test_the_hosted_set_pins_what_the_full_serving_set_pins():
    hosted = pins(paths.REPO_ROOT / "app" / "requirements.txt")
    full = pins(paths.REPO_ROOT / "requirements.txt")
    assert set(hosted) == set(full) - HEAVY
    assert {name: version for name, version in hosted.items() if full[name] != version} == {}


def test_the_dockerfile_installs_the_hosted_set_only():
    dockerfile = (paths.REPO_ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install .*", dockerfile)
    assert installs == ["pip install -r app/requirements.txt"], installs
