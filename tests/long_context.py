"""Tiny random long-context models of every architecture llmrt runs, converted by `llmrt convert`
and by llama.cpp's converter in F32 and F16, against transformers: logits at positions 0-100 and
2000-3000, and 64 greedy steps (test_long_context.py asserts them).

One session-wide LongContext builds each model once, converts it once per converter and type
(llama.cpp's converter runs all its jobs in one process) and runs each file once: one prefill of
N_POSITIONS tokens, whose logits every logits test reads, then N_STEPS greedy tokens from the
first PROMPT of those tokens. transformers runs each model the same way, once on its weights and
once on them rounded (the prompt with a cache, the rest of the tokens on top of a copy of it: the
same logits as one forward of all of them, to 4e-7 of the range).

F16: a file stores the matrices rounded to half precision and llmrt computes in float32, so it is
compared with transformers running the same rounded weights in float32 (round_like_f16: every
parameter of two or more dimensions but the MoE routers; both converters keep the routers and the
vectors in F32, which test_long_context.py checks on the file's side). Both sides then
differ by float32 arithmetic only, and the bound stays the F32 one (measured errors are the
F32 ones to within 1e-6). Against the unrounded model the difference would be the rounding's:
9e-4 to 2e-3 of the range in the dense models, 5-37% in the MoE ones, where rounding flips
expert choices; none of it llmrt's doing.

KV cache: f32. The default f16 cache moves these logits by 3e-4 to 1.6e-3 of the range, and in
the MoE models it flips expert choices at about 1% of the positions (errors up to 24% there).
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tiny_hf import make_model

N_POSITIONS, PROMPT, N_STEPS = 3000, 2000, 64
SPANS = ((0, 100), (2000, 3000))
MAX_ERROR = 1e-3      # of the logit range at those positions
# A greedy step whose top-2 margin in transformers is under this fraction of the step's logit
# range is a near-tie: about twice the largest logit error measured at these positions (5.4e-5,
# the LongRoPE Phi-3 at 2000-3000), so below it float32 noise may pick either token. Every
# model's ids_seed keeps its smallest margin, F32 or F16, above 5e-4.
NEAR_TIE = 1e-4
CONVERTERS = ("llmrt", "llama.cpp")
OUTTYPES = ("f32", "f16")

# head_dim 16, base 10000: wavelengths 6.3 .. 1.1e4 positions. With an original context of 64
# and the default low/high factors, the shortest wavelength keeps its frequency, one falls in the
# interpolated band and the rest are divided by `factor`: every branch of the scaling runs.
LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 64}
# Qwen 2.5's and Qwen 3's long-context setting in small: an original context of 64 stretched 4 times.
YARN = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}
# Phi-3's LongRoPE in small: per-frequency divisors for short and long contexts.
LONGROPE = {"rope_type": "longrope", "original_max_position_embeddings": 64,
            "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.0, 3.5],
            "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 12.0, 16.0]}
LINEAR = {"rope_type": "linear", "factor": 4.0}
# Gemma 3's global layers divide positions by 8; its local ones keep plain RoPE.
GEMMA3_LINEAR = {"rope_type": "linear", "factor": 8.0}


class Spec(NamedTuple):
    model: dict       # make_model keywords
    pre: str          # the pre-tokenizer llama.cpp would name for such a tokenizer
    ids_seed: int     # token_ids' seed, one whose greedy steps meet no near-tie (F32 and F16)


MODELS = {
    "llama": Spec(dict(arch="llama", rope_scaling=LLAMA3, seed=7), "llama-bpe", 0),
    "mistral": Spec(dict(arch="mistral", rope_scaling=LINEAR, seed=1), "llama-bpe", 8),
    "mixtral": Spec(dict(arch="mixtral", seed=2), "llama-bpe", 3),
    "qwen2": Spec(dict(arch="qwen2", rope_scaling=YARN, seed=8), "qwen2", 0),
    "qwen3": Spec(dict(arch="qwen3", rope_scaling=YARN, seed=4), "qwen2", 0),
    "qwen2moe": Spec(dict(arch="qwen2moe", seed=5), "qwen2", 0),
    "qwen3moe": Spec(dict(arch="qwen3moe", rope_scaling=YARN, seed=6), "qwen2", 0),
    # llama.cpp's converter always ties Gemma 2's output to the embedding. Tied, the random model
    # repeats one or two tokens: its greedy steps check the decoding loop, not much more.
    "gemma2": Spec(dict(arch="gemma2", layers=4, tied=True, seed=7), "default", 0),
    "gemma3": Spec(dict(arch="gemma3", layers=6, rope_scaling=GEMMA3_LINEAR, seed=8), "default", 1),
    "phi3": Spec(dict(arch="phi3", rope_scaling=LONGROPE, seed=9), "default", 0),
}
_ROUTERS = (".mlp.gate.weight", ".mlp.shared_expert_gate.weight")   # transformers' names
F32_MATRICES = re.compile(r"ffn_gate_inp(_shexp)?\.weight$")       # the same in GGUF


def token_ids(name: str) -> list[int]:
    """N_POSITIONS random ids below every test tokenizer's size, special tokens included."""
    return np.random.default_rng(MODELS[name].ids_seed).integers(3, 300, N_POSITIONS).tolist()


def round_like_f16(model) -> None:
    """Round in place what an F16 file stores in half precision."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2 and not name.endswith(_ROUTERS):
                p.copy_(p.to(torch.float16).to(p.dtype))


@dataclass
class Run:
    logits: list[np.ndarray]          # one (hi - lo, n_vocab) block per span of SPANS
    tokens: list[int]                 # N_STEPS greedy tokens after the prompt
    margins: list[float] | None = None   # transformers: each step's top-2 margin / logit range


def run_llmrt(path: Path, ids: list[int]) -> tuple[Run, frozenset[int]]:
    """The file's logits and greedy tokens (end-of-generation tokens banned), and those tokens."""
    import llmrt

    llm = llmrt.LLM(path, n_ctx=N_POSITIONS + 8, n_threads=2, kv_type="f32")
    logits = llm.logits(ids)
    out = llm.generate_tokens(ids[:PROMPT], max_tokens=N_STEPS, temperature=0, ignore_eos=True)
    return Run([logits[lo:hi] for lo, hi in SPANS], out.tokens), frozenset(llm.tokenizer.eog_ids)


def run_transformers(model_dir: Path, ids: list[int], eog: frozenset[int]) -> dict[str, Run]:
    """outtype -> transformers' Run on the checkpoint's weights (f32) and on them rounded (f16),
    end-of-generation tokens banned from the greedy steps as llmrt's ignore_eos bans them."""
    import torch
    import transformers as tf

    model = tf.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    x = torch.tensor([ids])
    banned = sorted(eog)

    def forward(tokens, cache):
        out = model(tokens, use_cache=True, **{cache_arg: cache})
        return out.logits[0], out["cache" if "cache" in out else "past_key_values"]

    def run() -> Run:
        head, cache = forward(x[:, :PROMPT], None)
        tail, _ = forward(x[:, PROMPT:], copy.deepcopy(cache))
        logits = torch.cat([head, tail]).numpy()
        step, tokens, margins = head[-1], [], []
        for i in range(N_STEPS):
            span = float(step.max() - step.min())
            step = step.clone()
            step[banned] = -float("inf")
            top = torch.topk(step, 2)
            tokens.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]) / span)
            if i + 1 < N_STEPS:
                step, cache = forward(torch.tensor([[tokens[-1]]]), cache)
                step = step[-1]
        return Run([logits[lo:hi] for lo, hi in SPANS], tokens, margins)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # ops this small gain nothing from two, and lose much on a busy machine
    try:
        with torch.inference_mode():
            runs = {"f32": run()}
            round_like_f16(model)
            runs["f16"] = run()
    finally:
        torch.set_num_threads(threads)
    return runs


class LongContext:
    """Models, files and runs, each made once per session on first use."""

    def __init__(self, tmp_path_factory):
        self._tmp = tmp_path_factory
        self._dirs: dict[str, Path] = {}
        self._files: dict[tuple[str, str, str], Path] = {}
        self._llmrt: dict[tuple[str, str, str], tuple[Run, frozenset[int]]] = {}
        self._hf: dict[tuple[str, frozenset[int]], dict[str, Run]] = {}

    def hf_dir(self, name: str) -> Path:
        if name not in self._dirs:
            self._dirs[name] = make_model(self._tmp.mktemp(name), max_positions=4096, **MODELS[name].model)
        return self._dirs[name]

    def gguf(self, name: str, converter: str, outtype: str) -> Path:
        key = (name, converter, outtype)
        if key in self._files:
            return self._files[key]
        out_dir = self._tmp.mktemp(converter)
        if converter == "llmrt":
            from llmrt.cli import main as cli_main

            out = out_dir / f"{name}-{outtype}.gguf"
            assert cli_main(["convert", str(self.hf_dir(name)), "-o", str(out), "--outtype", outtype, "-q"]) == 0
            self._files[key] = out
        else:   # every llama.cpp file at once: one process, one import of torch
            import llama_cpp_converter

            jobs = {(n, t): (MODELS[n].pre, self.hf_dir(n), out_dir / f"{n}-{t}.gguf", t)
                    for n in MODELS for t in OUTTYPES}
            llama_cpp_converter.convert(list(jobs.values()), out_dir)
            self._files.update({(n, converter, t): job[2] for (n, t), job in jobs.items()})
        return self._files[key]

    def llmrt(self, name: str, converter: str, outtype: str) -> tuple[Run, frozenset[int]]:
        key = (name, converter, outtype)
        if key not in self._llmrt:
            self._llmrt[key] = run_llmrt(self.gguf(*key), token_ids(name))
        return self._llmrt[key]

    def transformers(self, name: str, outtype: str, eog: frozenset[int]) -> Run:
        key = (name, eog)
        if key not in self._hf:
            self._hf[key] = run_transformers(self.hf_dir(name), token_ids(name), eog)
        return self._hf[key][outtype]


def logit_errors(lc: LongContext, name: str, converter: str, outtype: str) -> list[float]:
    """Max |llmrt - transformers| over each span of SPANS, as a fraction of the logit range."""
    got, eog = lc.llmrt(name, converter, outtype)
    ref = lc.transformers(name, outtype, eog)
    errors = []
    for g, r in zip(got.logits, ref.logits):
        assert g.shape == r.shape
        errors.append(float(np.abs(g - r).max()) / float(r.max() - r.min()))
    return errors
