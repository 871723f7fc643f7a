"""Times one 10^5-particle simulate call on S^1 from Python against the command line's.

Both run the same task (the same settings through the same resolution and solver call), the
command line as `sphereflow simulate --set ... --out final.npy` in a fresh process, Python as
`sphereflow.simulate(settings)` plus reading `.positions`; each is repeated and the fastest
wall time of each is kept. Prints both times and their ratio, and checks that the final
positions agree bit for bit.

    python python/bench/simulate_bench.py target/release/sphereflow [--steps 200] [--repeat 3]
"""

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import sphereflow


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cli", type=Path, help="the sphereflow binary (a release build)")
    parser.add_argument("--particles", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = {
        "model.particles": args.particles,
        "model.beta": 10,
        "stop.max_steps": args.steps,
        "stop.drift_tol": 0,
    }
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "final.npy"
        cli_times, py_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run([str(args.cli), "simulate", *sets, "--out", str(out)], check=True,
                           capture_output=True)
            cli_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            run = sphereflow.simulate(settings)
            positions = run.positions
            py_times.append(time.perf_counter() - started)
        same = np.array_equal(positions.view(np.uint64), np.load(out).view(np.uint64))
    cli_s, py_s = min(cli_times), min(py_times)
    print(f"n = {args.particles} on S^1, {args.steps} steps, best of {args.repeat}:")
    print(f"  command line  {cli_s:8.3f} s   (all: {', '.join(f'{t:.3f}' for t in cli_times)})")
    print(f"  Python        {py_s:8.3f} s   (all: {', '.join(f'{t:.3f}' for t in py_times)})")
    print(f"  ratio Python / command line: {py_s / cli_s:.3f}")
    print(f"  final positions bit-identical: {same}")
    if not same:
        raise SystemExit("the final positions differ")


if __name__ == "__main__":
    main()
