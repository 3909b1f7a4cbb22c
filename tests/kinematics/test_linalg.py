"""The LM step's batched solves (kinematics.linalg) against numpy's LU, on both of their paths."""

import numpy as np
import pytest

from kinematics import linalg


def damped_systems(rows, n, seed=0, m=6):
    """LM-like systems JᵀJ + λI (rows, n, n), λ over [1e-12, 0.1], and right-hand sides (rows, n)."""
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((rows, m, n))
    lam = 10.0 ** rng.uniform(-12, -1, rows)
    return J.mT @ J + lam[:, None, None] * np.eye(n), rng.standard_normal((rows, n))


@pytest.mark.parametrize("n", [1, 2, 6, 7, 9])
@pytest.mark.parametrize("rows", [1, 5, linalg.CHOLESKY_ROWS - 1, linalg.CHOLESKY_ROWS, 2000])
def test_solutions_match_numpys_solve(rows, n):
    A, b = damped_systems(rows, n, seed=rows + n)  # for n > 6 JᵀJ is singular: λ alone holds them
    x = linalg.solve_damped(A, b)
    assert x.shape == (rows, n)
    # residuals at rounding level relative to the system's size (some are conditioned ~1e12)
    residual = np.abs((A @ x[..., None])[..., 0] - b).max(axis=-1)
    assert np.all(residual <= 1e-9 * (1 + np.abs(A).max(axis=(1, 2)) * np.abs(x).max(axis=-1)))
    # and the same answers where they are determined (condition < 1e8): to 1e-7 of each row's largest entry
    well = np.linalg.cond(A) < 1e8
    lu = np.linalg.solve(A[well], b[well, :, None])[..., 0]
    assert well.sum() >= rows // 4
    assert np.all(np.abs(x[well] - lu).max(axis=-1) <= 1e-7 * np.abs(lu).max(axis=-1))


def test_few_rows_take_numpys_lu_bit_for_bit():
    A, b = damped_systems(linalg.CHOLESKY_ROWS - 1, 7, seed=3)
    np.testing.assert_array_equal(linalg.solve_damped(A, b), np.linalg.solve(A, b[..., None])[..., 0])


def test_a_row_whose_factorization_breaks_down_is_solved_by_lu():
    A, b = damped_systems(1000, 7, seed=4)
    bad = [3, 500, 999]
    A[3] = np.diag([1.0, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0])  # indefinite: a negative pivot
    A[500, 0, 0] = 0.0  # a zero pivot first
    A[500, 0, 1:] = A[500, 1:, 0] = 0.5
    A[999] = np.eye(7) * 1e-3 + np.outer(np.arange(7.0), np.arange(7.0))  # fine: control
    x, broken = linalg._cholesky_solve(A, b)
    assert np.flatnonzero(broken).tolist() == [3, 500]
    x = linalg.solve_damped(A, b)
    for i in bad:
        np.testing.assert_allclose(A[i] @ x[i], b[i], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(x[[3, 500]], np.linalg.solve(A[[3, 500]], b[[3, 500], :, None])[..., 0])
    assert np.all(np.isfinite(x))


def test_the_systems_are_left_as_they_were():
    for n in (1, 7):
        A, b = damped_systems(linalg.CHOLESKY_ROWS, n, seed=5)
        A0, b0 = A.copy(), b.copy()
        linalg.solve_damped(A, b)
        np.testing.assert_array_equal(A, A0)
        np.testing.assert_array_equal(b, b0)
