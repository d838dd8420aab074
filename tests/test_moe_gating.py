"""MoE routing (_core_testing.moe_gating) against a NumPy reference, table-driven."""

import numpy as np
import pytest

from llmrt import _core_testing

SOFTMAX, SIGMOID = 1, 2


def reference(logits, k, func=SOFTMAX, norm=False, bias=None, n_group=0, topk_group=0, scale=1.0):
    logits = logits.astype(np.float64)
    if func == SOFTMAX:
        e = np.exp(logits - logits.max(-1, keepdims=True))
        scores = e / e.sum(-1, keepdims=True)
    else:
        scores = 1.0 / (1.0 + np.exp(-logits))
    choice = scores + (0.0 if bias is None else bias)
    n, n_expert = logits.shape
    if n_group > 1 and topk_group < n_group:
        g = choice.reshape(n, n_group, -1)
        top2 = -np.sort(-g, axis=-1)[..., :2].sum(-1)
        keep = np.argsort(-top2, axis=-1, kind="stable")[:, :topk_group]
        mask = np.zeros((n, n_group), bool)
        np.put_along_axis(mask, keep, True, axis=-1)
        choice = np.where(np.repeat(mask, n_expert // n_group, axis=-1), choice, -np.inf)
    ids = np.argsort(-choice, axis=-1, kind="stable")[:, :k]   # stable: ties to the lower index
    w = np.take_along_axis(scores, ids, -1)
    if norm:
        w = w / w.sum(-1, keepdims=True)
    return ids, w * scale


def run(logits, k, **kw):
    bias = kw.get("bias")
    return _core_testing.moe_gating(logits.astype(np.float32), k, kw.get("func", SOFTMAX), kw.get("norm", False),
                            None if bias is None else bias.astype(np.float32), kw.get("n_group", 0),
                            kw.get("topk_group", 0), kw.get("scale", 1.0))


RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((13, 8)) * 2
BIAS = RNG.standard_normal(8) * 0.5
CASES = {
    "softmax k=2": (LOGITS, 2, {}),
    "softmax k=2 norm": (LOGITS, 2, {"norm": True}),
    "k=1": (LOGITS, 1, {}),
    "k=1 norm": (LOGITS, 1, {"norm": True}),
    "k=n_expert": (LOGITS, 8, {}),
    "k=n_expert norm": (LOGITS, 8, {"norm": True}),
    "sigmoid k=3": (LOGITS, 3, {"func": SIGMOID}),
    "sigmoid k=3 norm": (LOGITS, 3, {"func": SIGMOID, "norm": True}),
    "bias": (LOGITS, 2, {"bias": BIAS}),
    "sigmoid bias norm scale": (LOGITS, 4, {"func": SIGMOID, "bias": BIAS, "norm": True, "scale": 2.5}),
    "groups": (RNG.standard_normal((9, 16)), 4, {"func": SIGMOID, "n_group": 4, "topk_group": 2}),
    "groups bias norm": (RNG.standard_normal((9, 16)), 4,
                         {"func": SIGMOID, "n_group": 4, "topk_group": 2, "norm": True,
                          "bias": RNG.standard_normal(16)}),
    "groups, all kept": (RNG.standard_normal((9, 16)), 3, {"n_group": 4, "topk_group": 4}),
    "one group of one": (RNG.standard_normal((5, 8)), 1, {"n_group": 8, "topk_group": 1}),
    # ties: equal logits must go to the lower expert index, as a stable argsort
    "ties": (np.array([[1, 3, 3, 0, 3], [0, 0, 0, 0, 0], [2, 1, 2, 1, 2]]), 2, {}),
    "ties all": (np.zeros((2, 6)), 6, {"norm": True}),
    "ties sigmoid": (np.array([[5, 5, -1, 5]]), 3, {"func": SIGMOID}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gating_matches_reference(name):
    logits, k, kw = CASES[name]
    ids, w = run(logits, k, **kw)
    ref_ids, ref_w = reference(logits.astype(np.float32), k, **kw)
    assert ids.shape == w.shape == (logits.shape[0], k)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(w, ref_w, rtol=2e-6, atol=1e-7)


def test_ties_pick_lower_index():
    ids, w = run(np.array([[1.0, 3.0, 3.0, 0.0, 3.0]]), 2)
    assert ids.tolist() == [[1, 2]] and w[0, 0] == w[0, 1]


def test_bias_chooses_but_does_not_weight():
    logits = np.array([[2.0, 1.0, 0.0]])
    ids, w = run(logits, 1, bias=np.array([0.0, 0.0, 10.0]))
    assert ids.tolist() == [[2]]
    np.testing.assert_allclose(w[0, 0], np.exp(0) / np.exp(logits).sum(), rtol=1e-6)


@pytest.mark.parametrize("k, kw", [(0, {}), (9, {}), (2, {"func": 7}), (2, {"n_group": 3, "topk_group": 1}),
                                   (2, {"n_group": 4, "topk_group": 5}), (5, {"n_group": 4, "topk_group": 2})])
def test_impossible_parameters_raise(k, kw):
    with pytest.raises(ValueError):
        run(LOGITS, k, **kw)
