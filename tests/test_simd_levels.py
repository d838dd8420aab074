"""The AVX-512 VNNI packed kernels (csrc/quant/*_packed_avx512.cpp, 16-row groups) against the AVX2
ones (*_packed_avx2.cpp, 8-row groups), run in a subprocess under LLMRT_SIMD=avx2.

Both sum the same integers per row and take the same float steps in the same order, so they must
agree bit for bit: every packed matmul, and through a whole model every logit. test_matmul.py
checks the level in use against exact arithmetic; this file carries that check over to the
other level, and keeps the AVX2 kernels tested on machines whose default is AVX-512.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from llmrt import _core

pytestmark = pytest.mark.skipif(_core.simd_level() != "avx512",
                                reason="needs a CPU with AVX-512 VNNI (the default level here is "
                                       f"{_core.simd_level()}, so there is no second level to compare)")

PACKED_TYPES = {"Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14,
                "IQ4_XS": 23}

MATMULS = textwrap.dedent("""
    import sys
    import numpy as np
    from llmrt import _core, _core_testing
    out = {}
    for name, t in %r.items():
        for n_tokens in (1, 2, 3, 5, 8, 9, 17):
            for n_out in (16, 48):
                rng = np.random.default_rng(t * 1000 + n_tokens * 10 + n_out)
                n_in = 512
                w = np.concatenate([_core.quantize(t, r) for r in rng.standard_normal((n_out, n_in)).astype(np.float32)])
                x = rng.standard_normal((n_tokens, n_in)).astype(np.float32)
                x[0] *= 50.0
                for n_threads in (1, 2):
                    key = f"{name}_{n_tokens}_{n_out}_{n_threads}"
                    out[key] = _core_testing.matmul(t, w, n_in, x, n_threads=n_threads, packed=True)
    np.savez(sys.argv[1], level=_core.simd_level(), **out)
""") % PACKED_TYPES

LOGITS = textwrap.dedent("""
    import sys
    import numpy as np
    import llmrt
    out = {}
    for name, path in zip(("smollm2", "gemma3"), sys.argv[2:]):
        llm = llmrt.LLM(path, n_ctx=64, n_threads=2)
        ids = llm.tokenize("The quick brown fox jumps over the lazy dog, then naps. " * 2)
        out[name] = llm.logits(ids)
        out[name + "_packed_bytes"] = np.array(llm._model.packed_bytes)
    np.savez(sys.argv[1], level=llmrt._core.simd_level(), **out)
""")


def run_levels(code, tmp_path, *args):
    """{level: npz} for the default level (avx512) and LLMRT_SIMD=avx2."""
    results = {}
    for level in ("avx512", "avx2"):
        dst = tmp_path / f"{level}.npz"
        env = dict(os.environ, LLMRT_SIMD=level)
        subprocess.run([sys.executable, "-c", code, str(dst), *map(str, args)], env=env, check=True)
        results[level] = np.load(dst)
        assert str(results[level]["level"]) == level
    return results


def test_packed_matmuls_agree_bit_for_bit(tmp_path):
    r = run_levels(MATMULS, tmp_path)
    keys = [k for k in r["avx512"].files if k != "level"]
    assert len(keys) == len(PACKED_TYPES) * 7 * 2 * 2
    for k in keys:
        assert np.array_equal(r["avx512"][k], r["avx2"][k]), k


def test_model_logits_agree_bit_for_bit(tmp_path, smollm2_path, gemma3_path):
    r = run_levels(LOGITS, tmp_path, smollm2_path, gemma3_path)
    for name in ("smollm2", "gemma3"):
        assert int(r["avx512"][name + "_packed_bytes"]) > 10_000_000   # the packed kernels ran
        assert int(r["avx2"][name + "_packed_bytes"]) > 10_000_000
        a, b = r["avx512"][name], r["avx2"][name]
        assert a.shape == b.shape and np.isfinite(a).all()
        assert np.array_equal(a, b), (name, float(np.abs(a - b).max()))
