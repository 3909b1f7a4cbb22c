"""8. Direct kinematics by backprop: a planar arm, its gradient, and gradient descent to a target.

A planar arm with links of lengths l_1..l_n and joint angles q_1..q_n is a product of
homogeneous 2-D transforms, each a rotation by q_i followed by a shift l_i along the new x:

    T_i(q_i) = [[cos q_i, -sin q_i, l_i cos q_i],
                [sin q_i,  cos q_i, l_i sin q_i],
                [0,        0,       1          ]],     p(q) = (T_1 T_2 ... T_n)[:2, 2]

Built from the engine's sin, cos, stack and matmul, p(q) is differentiable with no kinematics
code of its own: one backward pass per coordinate gives the Jacobian dp/dq. With phi_k =
q_1 + ... + q_k (the absolute angle of link k), the closed form is

    dp_x/dq_i = -sum_{k >= i} l_k sin(phi_k),     dp_y/dq_i = sum_{k >= i} l_k cos(phi_k)

Inverse kinematics by gradient descent then minimises L(q) = 1/2 |p(q) - target|^2, whose
gradient is J^T (p - target): backward() computes exactly that.

Run: python docs/examples/e08_kinematics_by_backprop.py   (after `pip install -e .`, or with PYTHONPATH=.)
"""

import numpy as np

import autodiff as ad
from checking import check  # prints engine and oracle values, raises on a mismatch


LENGTHS = np.array([1.0, 0.8, 0.6])  # metres


def link_transform(q_i, length):
    """T_i: rotate by q_i (a scalar Tensor), then move `length` along the new x. -> (3, 3)."""
    c, s = ad.cos(q_i), ad.sin(q_i)
    zero, one = ad.Tensor(0.0), ad.Tensor(1.0)
    return ad.stack([ad.stack([c, -s, length * c]),
                     ad.stack([s, c, length * s]),
                     ad.stack([zero, zero, one])])


def end_effector(q):
    """Forward kinematics: joint angles q (n,) -> end-effector position (2,), by matmuls."""
    T = link_transform(q[0], LENGTHS[0])
    for i in range(1, len(LENGTHS)):
        T = T @ link_transform(q[i], LENGTHS[i])
    return T[:2, 2]


def closed_form_jacobian(q):
    """dp/dq for the planar arm, (2, n): each joint moves every link after it."""
    phi = np.cumsum(q)
    tail_x = np.cumsum((LENGTHS * np.cos(phi))[::-1])[::-1]  # sum over k >= i of l_k cos(phi_k)
    tail_y = np.cumsum((LENGTHS * np.sin(phi))[::-1])[::-1]
    return np.stack([-tail_y, tail_x])


def main():
    q = np.array([0.3, -0.5, 0.9])
    phi = np.cumsum(q)
    p = end_effector(ad.Tensor(q)).data
    check("p(q): engine's matmuls vs sum of l_k (cos phi_k, sin phi_k)", p,
          [np.sum(LENGTHS * np.cos(phi)), np.sum(LENGTHS * np.sin(phi))])

    J = ad.jacobian(end_effector)(q)  # (2, 3): two backward passes
    check("Jacobian dp/dq: engine vs the closed form", J, closed_form_jacobian(q))
    check("Jacobian dp/dq: engine vs finite differences", J,
          ad.numerical_jacobian(end_effector, [q], 0), rtol=1e-6, atol=1e-9)

    # -- inverse kinematics by gradient descent ----------------------------------------------
    target = end_effector(ad.Tensor(np.array([1.1, 0.6, -0.8]))).data  # reachable by construction
    qt = ad.Tensor(q.copy(), requires_grad=True)
    lr = 0.15
    for step in range(2001):
        qt.zero_grad()
        error = end_effector(qt) - target
        loss = 0.5 * ad.sum(error * error)
        loss.backward()
        if step == 0:
            check("dL/dq: engine vs J^T (p - target)", qt.grad, closed_form_jacobian(qt.data).T @ error.data)
        distance = np.linalg.norm(error.data)
        if step % 100 == 0:
            print(f"step {step:4d}: distance to target {distance:.2e} m, q = {np.round(qt.data, 4)}")
        if distance < 1e-8:
            break
        qt.data = qt.data - lr * qt.grad
    print(f"stopped after {step} steps: distance {distance:.2e} m")
    check("end effector after descent vs target", end_effector(qt).data, target, atol=1e-8)
    print("ok: backprop through sin, cos and matmul gives the arm's Jacobian and solves IK")


if __name__ == "__main__":
    main()
