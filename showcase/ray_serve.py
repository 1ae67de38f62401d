"""The prediction API on Ray Serve: the same ASGI app (``showcase.api.create_app``) behind ``serve.ingress``.

    python -m showcase.ray_serve                           # deploy/ray-serve.yaml on a local Ray, no dashboard
    python -m showcase.ray_serve --port 8123 --replicas 2  # other port; a fixed number of replicas
    serve run deploy/ray-serve.yaml                        # Ray's own CLI, e.g. against a cluster (RAY_ADDRESS)

Ray Serve is not in the serving set: ``requirements-ray.txt`` adds it. Each replica builds its own app (the
builder runs in the replica's process), so each loads the models it serves, as a uvicorn worker does. The
config file holds the replicas and their autoscaling; on one machine it starts a local Ray with the dashboard
off (about 1.1 GB for two replicas here); against a cluster the same file places replicas on its nodes.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from typing import Any

from ray import serve

from showcase import paths

CONFIG_PATH = paths.REPO_ROOT / "deploy" / "ray-serve.yaml"
DEPLOYMENT = "ShowcaseApi"


def build_api():
    """The API's ASGI app, built inside each replica."""
    from showcase.api import create_app
    from showcase.api.operations import configure_logging

    configure_logging()
    return create_app()


@serve.deployment
@serve.ingress(build_api)
class ShowcaseApi:
    """One replica of the API: every route is the app's own."""


app = ShowcaseApi.bind()


def load_config(path: Path = CONFIG_PATH, port: int | None = None, replicas: int | None = None) -> dict[str, Any]:
    """The Serve config file as a dict; ``port`` replaces its HTTP port, ``replicas`` fixes the replica count
    (autoscaling from ``replicas`` to ``replicas``)."""
    import yaml

    config = yaml.safe_load(path.read_text())
    if port is not None:
        config["http_options"]["port"] = port
    if replicas is not None:
        for application in config["applications"]:
            for deployment in application["deployments"]:
                scaling = deployment.setdefault("autoscaling_config", {})
                scaling.update(min_replicas=replicas, initial_replicas=replicas, max_replicas=replicas)
    return config


def start(config: dict[str, Any], num_cpus: int | None = None) -> None:
    """Start a local Ray (dashboard off) and deploy ``config`` on it, as ``serve run`` does with a file."""
    import ray
    from ray.serve.schema import ServeDeploySchema

    # Ray's workers inherit this environment: they import showcase from this checkout, as this process does.
    # (A runtime_env would do the same, but through dedicated workers that start more slowly.)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.REPO_ROOT), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(include_dashboard=False, num_cpus=num_cpus or os.cpu_count(), namespace="serve", log_to_driver=False)
    schema = ServeDeploySchema.model_validate(config)
    serve.start(http_options=schema.http_options.model_dump(), proxy_location=schema.proxy_location)
    for application in schema.applications:
        deployments = {d.name: d.model_dump(exclude_unset=True) for d in application.deployments}
        options = deployments.get(DEPLOYMENT, {})
        options.pop("name", None)
        bound = ShowcaseApi.options(**options).bind()
        serve.run(bound, name=application.name, route_prefix=application.route_prefix, blocking=False)


def stop() -> None:
    import ray

    serve.shutdown()
    ray.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m showcase.ray_serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=CONFIG_PATH)
    parser.add_argument("--port", type=int, help="HTTP port (default: the config file's)")
    parser.add_argument("--replicas", type=int, help="a fixed number of replicas instead of the autoscaling range")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.port, args.replicas)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    start(config)
    http = config["http_options"]
    print(f"Ray Serve: http://{http['host']}:{http['port']}/v1/health  (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


if __name__ == "__main__":
    main()
