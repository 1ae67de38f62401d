"""scripts/install.sh picks the newest supported Python it finds, or $PYTHON, and refuses any other version."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from showcase import paths

INSTALL = str(paths.REPO_ROOT / "scripts" / "install.sh")
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def interpreter(version: str) -> Path:
    """pyenv's interpreter for a minor version, or the test is skipped on a machine without it."""
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} under {PYENV}")
    return found[-1]


def which_python(path_dir: Path, **env) -> subprocess.CompletedProcess:
    """Run install.sh --which-python with only ``path_dir`` and the basic tools on PATH."""
    tools = path_dir / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("dirname", "cat"):
        (tools / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    environment = {"PATH": f"{path_dir}:{tools}", "HOME": str(path_dir), **env}
    return subprocess.run(["/bin/bash", INSTALL, "--which-python"], capture_output=True, text=True, env=environment)


def link(folder: Path, name: str, target: Path) -> None:
    (folder / name).symlink_to(target)


def test_the_newest_supported_python_on_path_is_picked(tmp_path):
    link(tmp_path, "python3.11", interpreter("3.11"))
    link(tmp_path, "python3.12", interpreter("3.12"))
    # Like a pyenv shim of a version that is not active: on PATH, but it does not run.
    (tmp_path / "python3.13").write_text("#!/bin/sh\nexit 127\n")
    (tmp_path / "python3.13").chmod(0o755)
    result = which_python(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "python3.12")


def test_python_points_at_an_interpreter(tmp_path):
    link(tmp_path, "python3.12", interpreter("3.12"))
    result = which_python(tmp_path, PYTHON=sys.executable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sys.executable


@pytest.mark.parametrize("version", ["3.10", "3.9"])
def test_an_unsupported_python_is_refused_with_the_supported_versions(tmp_path, version):
    result = which_python(tmp_path, PYTHON=str(interpreter(version)))
    assert result.returncode == 1
    assert f"is Python {version}" in result.stderr
    assert "3.11, 3.12 or 3.13" in result.stderr and "PYTHON=" in result.stderr


def test_no_supported_python_on_path_is_refused(tmp_path):
    link(tmp_path, "python3", interpreter("3.10"))
    result = which_python(tmp_path)
    assert result.returncode == 1
    assert "No supported Python found (Python 3.10" in result.stderr
    assert "3.11, 3.12 or 3.13" in result.stderr
