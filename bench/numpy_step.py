"""One Euler step of the sphereflow model in plain NumPy, written the way research code writes it.

USA attention with the shifted kernel, descent, ReLU perceptron, `normalize` retraction (the
authors' update for d >= 3):

    G = X @ X.T;  W = exp(beta (G - 1));  A = (W * m) @ X;  u = relu(X @ a.T) * s @ a
    F = A + u - <A + u, X> X;  X' = (X - dt F) / |X - dt F|

Reads x0.npy and perceptron.npy (rows a_j then s_j) written by the Rust example `step_bench`,
times the step (median of --reps runs), writes x1_numpy.npy, compares with x1_rust.npy and prints
one line of JSON.
"""

import argparse
import json
import os
import time

import numpy as np


def euler_step(X, m, a, s, beta, dt):
    G = X @ X.T
    W = np.exp(beta * (G - 1.0))
    A = (W * m[None, :]) @ X
    u = (np.maximum(X @ a.T, 0.0) * s[None, :]) @ a
    F = A + u
    F = F - np.sum(F * X, axis=1, keepdims=True) * X
    Y = X - dt * F
    return Y / np.linalg.norm(Y, axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--dt", type=float, default=0.1)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    X = np.load(os.path.join(args.dir, "x0.npy"))
    perceptron = np.load(os.path.join(args.dir, "perceptron.npy"))
    a, s = perceptron[:, :-1], perceptron[:, -1]
    n = X.shape[0]
    m = np.full(n, 1.0 / n)
    Y = euler_step(X, m, a, s, args.beta, args.dt)  # warm up
    times = []
    for _ in range(args.reps):
        start = time.perf_counter()
        Y = euler_step(X, m, a, s, args.beta, args.dt)
        times.append(time.perf_counter() - start)
    np.save(os.path.join(args.dir, "x1_numpy.npy"), Y)
    rust = np.load(os.path.join(args.dir, "x1_rust.npy"))
    print(json.dumps({
        "n": n,
        "dim": X.shape[1],
        "median_step_s": float(np.median(times)),
        "max_abs_diff_vs_rust": float(np.max(np.abs(Y - rust))),
        "numpy_threads": os.environ.get("OMP_NUM_THREADS", "default"),
    }))


if __name__ == "__main__":
    main()
