"""The LM step's linear systems: many small symmetric positive definite ones, solved together.

`solve_damped(A, b)` solves A x = b for A (R, n, n) = JᵀWJ + λI, one system per row of an IK
batch. Its cost is per call, not arithmetic: a 7×7 system is ~400 floating-point operations, and
numpy's LU gufunc spends ~0.38 µs per matrix in LAPACK's call overhead. So

- few rows (one target: a handful of systems) go to the gufunc without `np.linalg.solve`'s
  wrapper (type checks and an errstate context, ~10 µs of a ~15 µs call);
- many rows are factorized by Cholesky with the batch on the last axis (structure of arrays):
  a few numpy calls per column of the factor and per step of the two substitutions, each over
  all rows at once: 0.13 µs per system at 10,000 rows and 0.24 at 512, against the gufunc's 0.38
  (measured on the Panda's 7×7 systems; equal near 256 rows, 0.28 against 0.37 at 384).

Cholesky needs positive pivots. The damped systems have them (λ ≥ 1e-12 > 0, and their
condition stays far from 1e16), but a row whose factorization breaks down anyway (a pivot that
is not positive, or not finite) is solved again by the LU gufunc, so no system is lost.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve_damped", "CHOLESKY_ROWS"]

# np.linalg.solve's gufunc without its wrapper: the same LU, the same bits. Numpy without the
# module (it is private) takes the public call.
_lu_solve = getattr(getattr(np.linalg, "_umath_linalg", None), "solve", None)
if _lu_solve is None:  # pragma: no cover - every numpy this project supports has it
    def _lu_solve(a, b, signature=None):
        return np.linalg.solve(a, b)

# From this many systems on, the batched Cholesky (see the module docstring).
CHOLESKY_ROWS = 320


def solve_damped(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with A x = b for symmetric positive definite systems.

    Args:
        A: (R, n, n) symmetric positive definite matrices.
        b: (R, n) right-hand sides.

    Returns:
        (R, n) solutions.
    """
    if len(A) < CHOLESKY_ROWS:
        return _lu_solve(A, b[..., None], signature="dd->d")[..., 0]
    x, broken = _cholesky_solve(A, b)
    if broken.any():
        x[broken] = _lu_solve(A[broken], b[broken, :, None], signature="dd->d")[..., 0]
    return x


def _cholesky_solve(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A = L Lᵀ, then L y = b and Lᵀ x = y, with every system at once: arrays (n, n, R), (n, R).

    Column j of L: L_jj = √(A_jj − Σ_k<j L_jk²) and L_ij = (A_ij − Σ_k<j L_ik L_jk) / L_jj below it.

    Returns:
        (x (R, n), broken (R,) bool: a pivot was not positive or not finite, so x is not valid there).
    """
    n = A.shape[-1]
    # L[i, j] holds entry (i, j) of every system: A's, until column j of the factor overwrites
    # its lower part (which reads only the columns before it, and A's own column j).
    L = A.transpose(1, 2, 0).copy()  # a copy always: A is the caller's
    inverse = np.empty((n, L.shape[-1]))  # 1 / L_jj: the substitutions multiply
    with np.errstate(invalid="ignore", divide="ignore"):  # a broken row's NaN or inf is caught below
        for j in range(n):
            if j:
                L[j, j] -= np.einsum("kr,kr->r", L[j, :j], L[j, :j])
            np.sqrt(L[j, j], out=L[j, j])
            np.divide(1.0, L[j, j], out=inverse[j])
            if j + 1 < n:
                if j:
                    L[j + 1:, j] -= np.einsum("ikr,kr->ir", L[j + 1:, :j], L[j, :j])
                L[j + 1:, j] *= inverse[j]
    x = b.T.copy()  # y, then x, in place
    for j in range(n):  # L y = b, top down
        if j:
            x[j] -= np.einsum("kr,kr->r", L[j, :j], x[:j])
        x[j] *= inverse[j]
    for j in range(n - 1, -1, -1):  # Lᵀ x = y, bottom up
        if j < n - 1:
            x[j] -= np.einsum("kr,kr->r", L[j + 1:, j], x[j + 1:])
        x[j] *= inverse[j]
    broken = ~np.isfinite(inverse).all(axis=0)
    return x.T, broken
