#!/usr/bin/python3
"""Live peer for bench_als.sh: the same implicit-ALS conjugate-gradient
iteration as src/core/rp_als.c (Hu, Koren, Volinsky 2008 confidence
c = 1 + alpha r; Takacs et al. 2011 CG, 3 steps warm-started per row), in
numpy/scipy, batched over all rows of a half-step (each row's CG is
independent, so the batched form does the same arithmetic per row).

    als_numpy_peer.py TRIPLETS [iterations] [factors] [regularization] [alpha]

TRIPLETS: int64 n, int32 users, int32 items, n int32 users, n int32 items,
n float64 values (bench/als_bench.c --write).  Prints one line of
key=value pairs; seconds per iteration is the mean after a warm-up
iteration.  BLAS threads come from OPENBLAS_NUM_THREADS.
"""
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp


def load(path):
    with open(path, "rb") as f:
        n = int(np.frombuffer(f.read(8), "<i8")[0])
        nu, ni = np.frombuffer(f.read(8), "<i4")
        u = np.frombuffer(f.read(4 * n), "<i4")
        i = np.frombuffer(f.read(4 * n), "<i4")
        v = np.frombuffer(f.read(8 * n), "<f8")
    R = sp.csr_matrix((v, (u, i)), shape=(int(nu), int(ni)))
    R.sum_duplicates()
    R.sort_indices()
    return R


def half_step(R, F, S, reg, alpha, steps, chunk=1 << 20):
    """Solves the rows of S (rows of R) against fixed F, in place."""
    k = F.shape[1]
    G = F.T @ F + reg * np.eye(k)
    rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
    cols = R.indices
    w = alpha * R.data
    cp = np.where(R.data > 0, 1.0 + w, 0.0)
    B = sp.csr_matrix((cp, R.indices, R.indptr), shape=R.shape) @ F

    def apply(X):
        out = X @ G
        d = np.empty(len(cols))
        for b in range(0, len(cols), chunk):
            e = min(b + chunk, len(cols))
            d[b:e] = np.einsum("ij,ij->i", X[rows[b:e]], F[cols[b:e]])
        W = sp.csr_matrix((w * d, R.indices, R.indptr), shape=R.shape)
        return out + W @ F

    r = B - apply(S)
    p = r.copy()
    rs = np.einsum("ij,ij->i", r, r)
    for _ in range(steps):
        live = rs >= 1e-20
        if not live.any():
            break
        Ap = apply(p)
        pap = np.einsum("ij,ij->i", p, Ap)
        ok = live & (pap > 0)
        a = np.where(ok, rs / np.where(ok, pap, 1.0), 0.0)
        S += a[:, None] * p
        r -= a[:, None] * Ap
        rn = np.einsum("ij,ij->i", r, r)
        beta = np.where(ok, rn / np.where(ok, rs, 1.0), 0.0)
        p = r + beta[:, None] * p
        rs = np.where(ok, rn, rs)
    return S


def main():
    path = sys.argv[1]
    iters = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    reg = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
    alpha = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    R = load(path)
    RT = R.T.tocsr()
    rng = np.random.default_rng(42)
    X = 0.01 * rng.standard_normal((R.shape[0], k))
    Y = 0.01 * rng.standard_normal((R.shape[1], k))
    times = []
    for _ in range(iters):
        t = time.time()
        X = half_step(R, Y, X, reg, alpha, 3)
        Y = half_step(RT, X, Y, reg, alpha, 3)
        times.append(time.time() - t)
    use = times[1:] if len(times) > 1 else times
    print("peer=numpy users=%d items=%d nnz=%d sec_per_iter=%.4f min_sec=%.4f maxrss_mb=%.1f"
          % (R.shape[0], R.shape[1], R.nnz, sum(use) / len(use), min(use),
             resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


if __name__ == "__main__":
    main()
