"""The Python examples of README.md and python/README.md run as written, in a folder holding
the paper's sweep files (both run the quick S^1 β sweep into one store: the second finds it
cached). The API listing names a few inputs it does not make; the test provides them: `x` and
`w` (positions and weights), `one_task.toml` (a sweep file without axes) and `task_id` (a task
of that sweep)."""

import json
import re
import shutil

import numpy as np

from conftest import ROOT


def python_blocks(path):
    text = path.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_every_python_example_runs(tmp_path, cli, monkeypatch):
    shutil.copytree(ROOT / "sweeps", tmp_path / "sweeps")
    (tmp_path / "one_task.toml").write_text("[model]\nparticles = 100\nbeta = 4\n")
    monkeypatch.chdir(tmp_path)
    plan = json.loads(
        cli("plan", "sweeps/paper/s1_beta.toml", "--profile", "quick", "--json", cwd=tmp_path).stdout
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    w = rng.normal(size=(2, 3))  # rows a_j (unit) then s_j
    w[:, :2] /= np.linalg.norm(w[:, :2], axis=1, keepdims=True)
    provided = {"x": x, "w": w, "task_id": plan["tasks"][0]["id"]}

    blocks = [(ROOT / "README.md", b) for b in python_blocks(ROOT / "README.md")]
    blocks += [(ROOT / "python" / "README.md", b) for b in python_blocks(ROOT / "python" / "README.md")]
    assert len(blocks) == 2, [str(p) for p, _ in blocks]
    for path, block in blocks:
        namespace = dict(provided)
        exec(compile(block, str(path), "exec"), namespace)
        # What the examples leave behind is what they say they make.
        assert namespace["run"].positions.shape[1] == 2
        assert namespace["run"].observables["n_clusters"] >= 1
        assert {t.state for t in namespace["sweep"].plan()} == {"cached"}
