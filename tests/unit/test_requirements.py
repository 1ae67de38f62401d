"""The hosted serving set (app/requirements.txt) is requirements.txt without TensorFlow and Keras, pin for pin."""

import re

from showcase import paths

HEAVY = {"tensorflow", "tensorflow-cpu", "tf-keras", "keras", "tensorflow-hub", "tf2onnx"}
# The hosted set's line for the project itself, installed editable from the repository root.
PROJECT = "-e ."


def pins(path, allow_includes=False) -> dict[str, str]:
    """name -> version of every ``name==version`` line (names normalised as pip does).

    With ``allow_includes`` a ``-r other.txt`` line adds the pins of that file. The project's own line is skipped.
    """
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line == PROJECT:
            continue
        if allow_includes and line.startswith("-r "):
            result |= pins(path.parent / line[3:].strip(), allow_includes)
            continue
        assert not line.startswith("-"), f"{path.name}: {line!r} (the hosted set must stand alone)"
        name, separator, version = line.partition("==")
        assert separator, f"{path.name}: {line!r} is not pinned"
        result[normalise(name)] = version.strip()
    return result


def normalise(name: str) -> str:
    """The name as pip compares it: lower case, runs of -_. as one dash, extras (``ray[serve]``) left out."""
    return re.sub(r"[-_.]+", "-", name.split("[", 1)[0].strip().lower())


def test_the_hosted_set_leaves_tensorflow_and_keras_out():
    hosted = pins(paths.REPO_ROOT / "app" / "requirements.txt")
    assert hosted and not HEAVY & set(hosted), HEAVY & set(hosted)


def test_the_hosted_set_pins_what_the_full_serving_set_pins():
    hosted = pins(paths.REPO_ROOT / "app" / "requirements.txt")
    full = pins(paths.REPO_ROOT / "requirements.txt")
    assert set(hosted) == set(full) - HEAVY
    assert {name: version for name, version in hosted.items() if full[name] != version} == {}


def test_the_hosted_set_installs_the_project_itself():
    lines = [line.split("#", 1)[0].strip() for line in (paths.REPO_ROOT / "app" / "requirements.txt").open()]
    assert PROJECT in lines


def test_the_dockerfile_installs_the_hosted_set_only():
    dockerfile = (paths.REPO_ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install .*", dockerfile)
    expected = ["pip install --require-hashes -r app/requirements.lock", "pip install --no-deps -e ."]
    assert installs == expected, installs


# The locks: one per requirements set, every package pinned with hashes, written by scripts/lock.sh.
SETS_AND_LOCKS = [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock"),
                  ("app/requirements.txt", "app/requirements.lock"), ("requirements-ray.txt", "requirements-ray.lock")]


def locked(path) -> dict[str, str]:
    """name -> version of every package in a lock; each must carry a hash."""
    result = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = line.split(";", 1)[0].split(" --hash", 1)[0].strip()
        name, separator, version = requirement.partition("==")
        assert separator, f"{path.name}: {requirement!r} is not pinned"
        assert "--hash=sha256:" in line, f"{path.name}: {name} has no hash"
        result[normalise(name)] = version
    return result


def test_each_lock_pins_its_set_at_the_same_versions():
    for requirements, lock in SETS_AND_LOCKS:
        wanted = pins(paths.REPO_ROOT / requirements, allow_includes=True)
        have = locked(paths.REPO_ROOT / lock)
        assert {name: (version, have.get(name)) for name, version in wanted.items() if have.get(name) != version} == {}


def test_the_locks_agree_on_every_package_they_share():
    locks = {lock: locked(paths.REPO_ROOT / lock) for _, lock in SETS_AND_LOCKS}
    versions: dict[str, set[str]] = {}
    for packages in locks.values():
        for name, version in packages.items():
            versions.setdefault(name, set()).add(version)
    assert {name: found for name, found in versions.items() if len(found) > 1} == {}


def test_the_hosted_lock_leaves_tensorflow_and_keras_out():
    assert not HEAVY & set(locked(paths.REPO_ROOT / "app" / "requirements.lock"))


def test_install_sh_and_pyproject_name_the_same_python_versions():
    install = (paths.REPO_ROOT / "scripts" / "install.sh").read_text()
    supported = re.search(r'^SUPPORTED="([^"]+)"', install, re.MULTILINE).group(1).split()
    pyproject = (paths.REPO_ROOT / "pyproject.toml").read_text()
    low, high = re.search(r'requires-python = ">=3\.(\d+),<3\.(\d+)"', pyproject).groups()
    assert supported == [f"3.{minor}" for minor in range(int(low), int(high))]
