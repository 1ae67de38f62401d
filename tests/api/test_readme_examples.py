"""The README's curl examples, exactly as written (but for the port), against ``python -m showcase.api``."""

import json
import re
import shlex
import shutil
import subprocess

import pytest

from showcase import paths

README_PORT = "localhost:8500"


def readme_curl_commands() -> list[str]:
    section = paths.REPO_ROOT.joinpath("README.md").read_text().split("## Prediction API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.startswith("curl ")]


def test_the_readme_has_a_curl_example_per_task():
    routes = " ".join(readme_curl_commands())
    for task in ("digits", "flowers", "sentiment", "forecast", "anomaly", "gan"):
        assert f"/v1/tasks/{task}" in routes, task


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
@pytest.mark.parametrize("command", readme_curl_commands())
def test_a_readme_curl_example_works(api, command, tmp_path):
    (tmp_path / "samples").symlink_to(paths.SAMPLES_DIR)
    arguments = [argument.replace(README_PORT, f"127.0.0.1:{api.port}") for argument in shlex.split(command)]
    completed = subprocess.run([arguments[0], "--silent", "--show-error", "--fail-with-body", *arguments[1:]],
                               cwd=tmp_path, capture_output=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stdout[:500] + completed.stderr[:500]
    if "-o" in arguments:
        written = tmp_path / arguments[arguments.index("-o") + 1]
        assert written.read_bytes().startswith(b"\x89PNG")
    else:
        answer = json.loads(completed.stdout)
        assert "error" not in answer
