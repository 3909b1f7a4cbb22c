"""Helpers shared by test modules in different folders (the repository root is on pytest's pythonpath)."""

import numpy as np

import kinematics as kin


def graph_ops(out):
    """{op name: count} of the engine's graph behind `out`."""
    seen, stack, ops = set(), [out], {}
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            ops[node._op] = ops.get(node._op, 0) + 1
            stack.extend(node._parents)
    return ops


def central_differences(chain, q, h=1e-6):
    """The chain's Jacobian (6, n) at q (n,) by central differences of FK: position rows (p+ − p−)/2h,
    angular rows rotvec(R+ R−ᵀ)/2h."""
    columns = []
    for i in range(chain.n):
        dq = np.zeros(chain.n)
        dq[i] = h
        Tp, Tm = kin.forward_kinematics(chain, q + dq), kin.forward_kinematics(chain, q - dq)
        columns.append(np.concatenate([(Tp[:3, 3] - Tm[:3, 3]) / (2 * h),
                                       kin.rotation_vector(Tp[:3, :3] @ Tm[:3, :3].T) / (2 * h)]))
    return np.stack(columns, axis=1)
