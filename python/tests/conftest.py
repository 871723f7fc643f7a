"""Shared fixtures: the command-line binary the Python results are compared with, and helpers
to run it."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def toml_value(value):
    """A Python value as the command line's `--set path=value` reads it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def set_args(settings):
    """`--set path=value` arguments for a settings dictionary."""
    args = []
    for key, value in settings.items():
        args += ["--set", f"{key}={toml_value(value)}"]
    return args


@pytest.fixture(scope="session")
def cli():
    """Runs the `sphereflow` binary (SPHEREFLOW_CLI, else target/debug/sphereflow of the
    checkout); returns the completed process. Fails, never skips, when the binary is missing."""
    path = Path(os.environ.get("SPHEREFLOW_CLI", ROOT / "target" / "debug" / "sphereflow"))
    if not path.is_file():
        pytest.fail(f"no sphereflow binary at {path}: build it (cargo build) or set SPHEREFLOW_CLI")

    def run(*args, check=True, cwd=None):
        done = subprocess.run(
            [str(path), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=600,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"sphereflow {' '.join(map(str, args))} exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    run.path = path
    return run
