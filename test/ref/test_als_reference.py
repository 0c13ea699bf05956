#!/usr/bin/python3
"""Independent reference check of the ALS core (src/core/rp_als.c).

A small numpy implementation, written from the papers rather than from the
C code, runs the same ALS from the same initial factors:
  - implicit feedback (Hu, Koren, Volinsky 2008): confidence c = 1 + alpha r,
    preference p = [r > 0], ridge lambda;
  - explicit ratings (Zhou et al. 2008) with global mean mu, user and item
    biases, ridge lambda * n_u (lambda * n_i) on factors and bias;
each with an exact solve per row and with conjugate gradient (3 steps,
warm-started from the previous factors, stopping a row when r.r < 1e-20).
The C core, driven by test/ref/als_driver.c (compiled here with gcc against
src/core and -lopenblas), must give the same loss after every iteration to
1e-6 relative.  Losses are the documented ones: implicit sum of c (p - s)^2
over all cells plus the ridge, divided by the total confidence; explicit
sum of squared errors plus the weighted ridge, divided by the number of
ratings.

Quality on data drawn from a known low-rank model: explicit ALS reaches
held-out RMSE within 5% of the noise level, implicit ALS ranks held-out
items far above chance (AUC reported).

Needs no database.  Prints "N passed, N failed"; exits non-zero on failure.
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMPLICIT, EXPLICIT = 0, 1
CG, CHOLESKY = 0, 1

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s %s" % (name, detail))
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def build_driver(tmp):
    blas = subprocess.run(["pkg-config", "--cflags", "openblas"],
                          capture_output=True, text=True).stdout.split()
    if not blas:
        blas = ["-I/usr/include/x86_64-linux-gnu/openblas-pthread"]
    core = sorted(os.path.join(ROOT, "src", "core", f)
                  for f in os.listdir(os.path.join(ROOT, "src", "core"))
                  if f.endswith(".c"))
    exe = os.path.join(tmp, "als_driver")
    cmd = (["gcc", "-std=gnu11", "-O2", "-pthread",
            "-I" + os.path.join(ROOT, "src", "core")] + blas +
           ["-o", exe, os.path.join(ROOT, "test", "ref", "als_driver.c")] +
           core + ["-lopenblas", "-lm"])
    subprocess.run(cmd, check=True)
    return exe


def run_c(exe, tmp, method, solver, k, iters, reg, alpha, users, items,
          vals, nu, ni, init=None, threads=1, cg_steps=3, seed=1):
    """Runs the C core; init = (X, bu, Y, ci) or None (seeded init)."""
    dim = k + 2 if method == EXPLICIT else k
    inp = os.path.join(tmp, "in.bin")
    out = os.path.join(tmp, "out.bin")
    with open(inp, "wb") as f:
        f.write(struct.pack("<9i", method, solver, k, cg_steps, iters,
                            threads, 1 if init is not None else 0, nu, ni))
        f.write(struct.pack("<q2dQ", len(users), reg, alpha, seed))
        f.write(np.asarray(users, "<i4").tobytes())
        f.write(np.asarray(items, "<i4").tobytes())
        f.write(np.asarray(vals, "<f8").tobytes())
        if init is not None:
            X, bu, Y, ci = init
            if method == EXPLICIT:
                # documented layout: user [x, b_u, 1], item [y, 1, c_i]
                U = np.hstack([X, bu[:, None], np.ones((nu, 1))])
                V = np.hstack([Y, np.ones((ni, 1)), ci[:, None]])
            else:
                U, V = X, Y
            f.write(np.ascontiguousarray(U, "<f8").tobytes())
            f.write(np.ascontiguousarray(V, "<f8").tobytes())
    rc = subprocess.run([exe, inp, out]).returncode
    if rc != 0:
        return rc, None
    raw = np.fromfile(out, "<f8")
    losses = raw[:iters]
    mu = raw[iters]
    U = raw[iters + 1: iters + 1 + nu * dim].reshape(nu, dim)
    V = raw[iters + 1 + nu * dim:].reshape(ni, dim)
    return 0, (losses, mu, U, V)


# ---------------------------------------------------------------- numpy ALS

def dense(users, items, vals, nu, ni):
    R = np.zeros((nu, ni))
    M = np.zeros((nu, ni), bool)
    np.add.at(R, (users, items), vals)
    M[users, items] = True
    return R, M


def cg_solve(A, b, x, steps):
    """CG on A x = b from x, `steps` steps, stopping when r.r < 1e-20."""
    r = b - A @ x
    p = r.copy()
    rs = r @ r
    for _ in range(steps):
        if rs < 1e-20:
            break
        Ap = A @ p
        pap = p @ Ap
        if not pap > 0:
            break
        a = rs / pap
        x = x + a * p
        r = r - a * Ap
        rn = r @ r
        p = r + (rn / rs) * p
        rs = rn
    return x


def implicit_half(R, F, S, reg, alpha, solver, steps):
    """Solves every row of S against fixed F; R is rows x other (dense)."""
    k = F.shape[1]
    FtF = F.T @ F
    out = S.copy()
    for u in range(R.shape[0]):
        c = 1.0 + alpha * R[u]
        p = (R[u] > 0).astype(float)
        A = FtF + (F.T * (c - 1.0)) @ F + reg * np.eye(k)
        b = F.T @ (c * p)
        if solver == CHOLESKY:
            out[u] = np.linalg.solve(A, b)
        else:
            out[u] = cg_solve(A, b, S[u].copy(), steps)
    return out


def implicit_loss(R, X, Y, reg, alpha):
    C = 1.0 + alpha * R
    P = (R > 0).astype(float)
    J = (C * (P - X @ Y.T) ** 2).sum() + reg * ((X ** 2).sum() + (Y ** 2).sum())
    return J / C.sum()


def explicit_half(R, M, F, fb, S, sb, mu, reg, solver, steps):
    """Rows of (S, sb) against fixed (F, fb): r ~ mu + sb + fb + S.F."""
    k = F.shape[1]
    S = S.copy()
    sb = sb.copy()
    for u in range(R.shape[0]):
        obs = np.nonzero(M[u])[0]
        n = len(obs)
        if n == 0:
            S[u] = 0.0
            sb[u] = 0.0
            continue
        G = np.hstack([F[obs], np.ones((n, 1))])
        t = R[u, obs] - mu - fb[obs]
        A = G.T @ G + reg * n * np.eye(k + 1)
        b = G.T @ t
        if solver == CHOLESKY:
            z = np.linalg.solve(A, b)
        else:
            z = cg_solve(A, b, np.append(S[u], sb[u]), steps)
        S[u] = z[:k]
        sb[u] = z[k]
    return S, sb


def explicit_loss(R, M, X, bu, Y, ci, mu, reg):
    E = (R - mu - bu[:, None] - ci[None, :] - X @ Y.T) * M
    nu_ = M.sum(1)
    ni_ = M.sum(0)
    J = (E ** 2).sum() + reg * (nu_ @ ((X ** 2).sum(1) + bu ** 2)
                                 + ni_ @ ((Y ** 2).sum(1) + ci ** 2))
    return J / M.sum()


# ------------------------------------------------------------------- tests

def test_losses_match(exe, tmp):
    rng = np.random.default_rng(20240601)
    nu, ni, k, iters = 60, 40, 8, 6
    for method in (IMPLICIT, EXPLICIT):
        M = rng.random((nu, ni)) < 0.15
        M[np.arange(nu), np.arange(nu) % ni] = True
        users, items = np.nonzero(M)
        if method == IMPLICIT:
            vals = rng.integers(1, 6, len(users)).astype(float)
        else:
            vals = rng.integers(1, 6, len(users)).astype(float)
        # a few duplicated pairs, summed by both sides
        users = np.append(users, users[:5])
        items = np.append(items, items[:5])
        vals = np.append(vals, np.ones(5))
        R, M = dense(users, items, vals, nu, ni)
        X0 = rng.normal(0, 0.1, (nu, k))
        Y0 = rng.normal(0, 0.1, (ni, k))
        bu0 = rng.normal(0, 0.1, nu)
        ci0 = rng.normal(0, 0.1, ni)
        reg, alpha = 0.1, 2.0
        for solver in (CHOLESKY, CG):
            name = "%s/%s" % ("implicit" if method == IMPLICIT else "explicit",
                              "cholesky" if solver == CHOLESKY else "cg")
            rc, res = run_c(exe, tmp, method, solver, k, iters, reg, alpha,
                            users, items, vals, nu, ni,
                            init=(X0, bu0, Y0, ci0))
            if rc != 0:
                check("loss " + name, False, "driver exit %d" % rc)
                continue
            closs = res[0]
            X, Y, bu, ci = X0.copy(), Y0.copy(), bu0.copy(), ci0.copy()
            mu = M.sum() and R[M].mean()
            ref = []
            for _ in range(iters):
                if method == IMPLICIT:
                    X = implicit_half(R, Y, X, reg, alpha, solver, 3)
                    Y = implicit_half(R.T, X, Y, reg, alpha, solver, 3)
                    ref.append(implicit_loss(R, X, Y, reg, alpha))
                else:
                    X, bu = explicit_half(R, M, Y, ci, X, bu, mu, reg, solver, 3)
                    Y, ci = explicit_half(R.T, M.T, X, bu, Y, ci, mu, reg,
                                          solver, 3)
                    ref.append(explicit_loss(R, M, X, bu, Y, ci, mu, reg))
            ref = np.array(ref)
            rel = np.max(np.abs(closs - ref) / np.abs(ref))
            check("loss " + name, rel <= 1e-6,
                  "max rel diff %.2e over %d iterations (final %.6f)"
                  % (rel, iters, ref[-1]))


def test_explicit_quality(exe, tmp):
    """Ratings from mu + b_u + c_i + u.v + N(0, sigma^2), rank 4."""
    rng = np.random.default_rng(7)
    nu, ni, rank, sigma = 1000, 500, 4, 0.5
    U = rng.normal(0, 0.7, (nu, rank))
    V = rng.normal(0, 0.7, (ni, rank))
    bu = rng.normal(0, 0.3, nu)
    ci = rng.normal(0, 0.3, ni)
    M = rng.random((nu, ni)) < 0.4
    users, items = np.nonzero(M)
    truth = 3.5 + bu[users] + ci[items] + (U[users] * V[items]).sum(1)
    vals = truth + rng.normal(0, sigma, len(users))
    test = rng.random(len(users)) < 0.1
    t0 = time.time()
    rc, res = run_c(exe, tmp, EXPLICIT, CHOLESKY, rank, 15, 0.01, 0.0,
                    users[~test], items[~test], vals[~test], nu, ni, seed=3)
    if rc != 0:
        check("explicit held-out RMSE", False, "driver exit %d" % rc)
        return
    losses, mu, Uf, Vf = res
    pred = mu + (Uf[users[test]] * Vf[items[test]]).sum(1)
    rmse = np.sqrt(np.mean((pred - vals[test]) ** 2))
    check("explicit held-out RMSE", rmse <= 1.05 * sigma,
          "RMSE %.4f vs noise %.2f (ratio %.3f; %d train / %d test ratings, %.1f s)"
          % (rmse, sigma, rmse / sigma, (~test).sum(), test.sum(),
             time.time() - t0))
    # CG reaches the same quality
    rc, res = run_c(exe, tmp, EXPLICIT, CG, rank, 15, 0.01, 0.0,
                    users[~test], items[~test], vals[~test], nu, ni, seed=3)
    losses, mu, Uf, Vf = res
    pred = mu + (Uf[users[test]] * Vf[items[test]]).sum(1)
    rmse_cg = np.sqrt(np.mean((pred - vals[test]) ** 2))
    check("explicit held-out RMSE (cg)", rmse_cg <= 1.05 * sigma,
          "RMSE %.4f (ratio %.3f)" % (rmse_cg, rmse_cg / sigma))


def test_implicit_auc(exe, tmp):
    """Purchases drawn with P(u, i) increasing in a rank-5 affinity."""
    rng = np.random.default_rng(11)
    nu, ni, rank = 2000, 600, 5
    U = rng.normal(0, 1, (nu, rank))
    V = rng.normal(0, 1, (ni, rank))
    aff = U @ V.T / np.sqrt(rank)
    logits = 2.0 * aff - 4.0
    P = 1.0 / (1.0 + np.exp(-logits))
    M = rng.random((nu, ni)) < P
    users, items = np.nonzero(M)
    vals = 1.0 + rng.poisson(1.0, len(users))
    # hold out one purchase per user with at least 3
    held = {}
    keep = np.ones(len(users), bool)
    order = rng.permutation(len(users))
    for j in order:
        u = users[j]
        if u not in held and M[u].sum() >= 3:
            held[u] = items[j]
            keep[j] = False
    rc, res = run_c(exe, tmp, IMPLICIT, CG, 16, 15, 0.1, 5.0,
                    users[keep], items[keep], vals[keep], nu, ni, seed=5)
    if rc != 0:
        check("implicit held-out AUC", False, "driver exit %d" % rc)
        return
    _, _, Xf, Yf = res
    S = Xf @ Yf.T
    aucs = []
    for u, i in held.items():
        neg = ~M[u]
        aucs.append((S[u, neg] < S[u, i]).mean() + 0.5 * (S[u, neg] == S[u, i]).mean())
    auc = float(np.mean(aucs))
    check("implicit held-out AUC", auc >= 0.75,
          "AUC %.4f over %d users (%d interactions; chance 0.5)"
          % (auc, len(aucs), keep.sum()))


def test_threads_and_errors(exe, tmp):
    rng = np.random.default_rng(3)
    nu, ni = 300, 100
    M = rng.random((nu, ni)) < 0.1
    users, items = np.nonzero(M)
    vals = np.ones(len(users))
    r1 = run_c(exe, tmp, IMPLICIT, CG, 8, 3, 0.1, 1.0, users, items, vals,
               nu, ni, threads=1)[1]
    r3 = run_c(exe, tmp, IMPLICIT, CG, 8, 3, 0.1, 1.0, users, items, vals,
               nu, ni, threads=3)[1]
    check("threads 1 and 3 bit-identical",
          np.array_equal(r1[0], r3[0]) and np.array_equal(r1[2], r3[2]))
    bad = vals.copy()
    bad[4] = np.nan
    rc, _ = run_c(exe, tmp, IMPLICIT, CG, 8, 1, 0.1, 1.0, users, items, bad,
                  nu, ni)
    check("NaN input rejected (RP_ENUMERIC)", rc == 3, "exit %d" % rc)
    bad[4] = -1.0
    rc, _ = run_c(exe, tmp, IMPLICIT, CG, 8, 1, 0.1, 1.0, users, items, bad,
                  nu, ni)
    check("negative implicit value rejected (RP_EINVAL)", rc == 1,
          "exit %d" % rc)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            exe = build_driver(tmp)
        except subprocess.CalledProcessError:
            check("build als_driver", False)
            print("%d passed, %d failed" % (passed, failed))
            return 1
        test_losses_match(exe, tmp)
        test_explicit_quality(exe, tmp)
        test_implicit_auc(exe, tmp)
        test_threads_and_errors(exe, tmp)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
