import numpy as np

import autodiff as ad


def test_matmul_grad():
    rng = np.random.default_rng(0)
    ad.check_grads(lambda a, b: a @ b, rng.standard_normal((2, 3)), rng.standard_normal((3, 4)))
