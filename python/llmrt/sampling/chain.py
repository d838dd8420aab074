"""SamplingParams (llama.cpp's common_params_sampling: names, defaults, sampler order), the
SamplerChain, and build_chain(params) assembling it as llama.cpp's common_sampler_init does:

    logit-bias, then either the configured samplers followed by the seeded draw (dist),
    or temperature + mirostat v1 / v2 when mirostat is 1 / 2.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable, Iterable, Sequence

import numpy as np

from ..arguments import is_integer
from ..errors import SamplingError
from .base import Candidates, Sampler, check, check_finite
from .basic import XTC, Dist, Greedy, MinP, Temperature, TopK, TopNSigma, TopP, Typical, resolve_seed
from .logit_bias import LogitBias, bias_entries
from .mirostat import Mirostat, MirostatV2
from .penalties import DRY, BreakerTable, Penalties, sequence_breakers_from_strings

DEFAULT_SAMPLERS = ("penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc",
                    "temperature")

# names llama.cpp's --samplers accepts, and the letters of --sampling-seq
_SAMPLER_NAMES = {
    "penalties": "penalties", "dry": "dry", "top_n_sigma": "top_n_sigma", "top_k": "top_k",
    "typ_p": "typ_p", "typical_p": "typ_p", "typical": "typ_p", "top_p": "top_p",
    "nucleus": "top_p", "min_p": "min_p", "xtc": "xtc", "temperature": "temperature",
    "temp": "temperature",
}
_SAMPLER_CHARS = {"e": "penalties", "d": "dry", "s": "top_n_sigma", "k": "top_k", "y": "typ_p",
                  "p": "top_p", "m": "min_p", "x": "xtc", "t": "temperature"}

# names other APIs (llama-cpp-python, OpenAI, vLLM, the llama.cpp server) use for the same fields
ALIASES = {
    "temperature": "temp", "typical_p": "typ_p", "repeat_penalty": "penalty_repeat",
    "frequency_penalty": "penalty_freq", "presence_penalty": "penalty_present",
    "repeat_last_n": "penalty_last_n", "last_n_tokens_size": "penalty_last_n",
    "mirostat_mode": "mirostat", "dynatemp_exp": "dynatemp_exponent",
}


@dataclass
class SamplingParams:
    """Sampling settings with llama.cpp's names and defaults (common_params_sampling)."""

    seed: int | None = None          # None, -1 or 0xFFFFFFFF: a random seed
    n_probs: int = 0                 # top log-probabilities to report per token (the caller's job)
    min_keep: int = 0                # cuts keep at least this many tokens (0: no minimum)
    top_k: int = 40                  # <= 0: disabled
    top_p: float = 0.95              # 1.0: disabled
    min_p: float = 0.05              # 0.0: disabled
    xtc_probability: float = 0.0     # 0.0: disabled
    xtc_threshold: float = 0.10      # > 0.5: disabled
    typ_p: float = 1.0               # 1.0: disabled
    temp: float = 0.8                # 0: greedy (every logit but the max becomes -inf)
    dynatemp_range: float = 0.0      # 0.0: plain temperature
    dynatemp_exponent: float = 1.0
    penalty_last_n: int = 64         # 0: disabled, -1: the context size
    penalty_repeat: float = 1.0      # 1.0: disabled
    penalty_freq: float = 0.0
    penalty_present: float = 0.0
    dry_multiplier: float = 0.0      # 0.0: DRY disabled
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_penalty_last_n: int = -1     # -1: the training context size
    dry_sequence_breakers: tuple = ("\n", ":", "\"", "*")
    mirostat: int = 0                # 0: off, 1: mirostat, 2: mirostat 2.0
    mirostat_tau: float = 5.0
    mirostat_eta: float = 0.1
    top_n_sigma: float = -1.0        # <= 0: disabled
    ignore_eos: bool = False         # bans the end-of-generation tokens through logit_bias
    logit_bias: dict = field(default_factory=dict)  # token id -> bias
    samplers: Sequence[str] | str = DEFAULT_SAMPLERS

    @classmethod
    def from_kwargs(cls, **kwargs) -> "SamplingParams":
        """Accept llama.cpp names and the common aliases (temperature, repeat_penalty, ...)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        out = {}
        for key, value in kwargs.items():
            name = ALIASES.get(key, key)
            if name not in fields:
                raise SamplingError(f"unknown sampling parameter {key!r}")
            if name in out:
                raise SamplingError(f"sampling parameter {name!r} given twice (as {key!r})")
            out[name] = value
        return cls(**out).validate()

    def replace(self, **kwargs) -> "SamplingParams":
        return dataclasses.replace(self, **{ALIASES.get(k, k): v for k, v in kwargs.items()}).validate()

    def sampler_names(self) -> list[str]:
        seq = self.samplers
        if isinstance(seq, str):
            # "top_k;temperature" (llama.cpp --samplers) or "kt" (llama.cpp --sampling-seq)
            if ";" in seq or seq.strip().lower().replace("-", "_") in _SAMPLER_NAMES:
                seq = [s for s in seq.split(";") if s.strip()]
            elif all(c in _SAMPLER_CHARS for c in seq):
                return [_SAMPLER_CHARS[c] for c in seq]
            else:
                raise SamplingError(f"unknown sampler sequence {seq!r}")
        names = []
        for s in seq:
            key = s.strip().lower().replace("-", "_")
            if key not in _SAMPLER_NAMES:
                raise SamplingError(f"unknown sampler {s!r}; known: {sorted(set(_SAMPLER_NAMES))}")
            names.append(_SAMPLER_NAMES[key])
        return names

    def validate(self) -> "SamplingParams":
        """Raise SamplingError for impossible values; return self."""
        self._check_types()
        check_finite(top_p=self.top_p, min_p=self.min_p, typ_p=self.typ_p, temp=self.temp,
                     xtc_probability=self.xtc_probability, xtc_threshold=self.xtc_threshold,
                     dynatemp_range=self.dynatemp_range, dynatemp_exponent=self.dynatemp_exponent,
                     penalty_repeat=self.penalty_repeat, penalty_freq=self.penalty_freq,
                     penalty_present=self.penalty_present, dry_multiplier=self.dry_multiplier,
                     dry_base=self.dry_base, mirostat_tau=self.mirostat_tau,
                     mirostat_eta=self.mirostat_eta, top_n_sigma=self.top_n_sigma)
        check(self.temp >= 0.0, f"temperature must be >= 0 (0 = greedy), got {self.temp}")
        check(self.dynatemp_range >= 0.0, f"dynatemp_range must be >= 0, got {self.dynatemp_range}")
        check(isinstance(self.top_k, (int, np.integer)) and self.top_k >= -1,
              f"top_k must be an int >= -1 (<= 0 disables), got {self.top_k!r}")
        for name in ("top_p", "min_p", "typ_p", "xtc_probability", "xtc_threshold"):
            v = getattr(self, name)
            check(0.0 <= v <= 1.0, f"{name} must be in [0, 1], got {v}")
        check(self.min_keep >= 0, f"min_keep must be >= 0, got {self.min_keep}")
        check(self.n_probs >= 0, f"n_probs must be >= 0, got {self.n_probs}")
        check(self.penalty_last_n >= -1, f"penalty_last_n must be >= -1, got {self.penalty_last_n}")
        check(self.penalty_repeat > 0.0, f"repeat_penalty must be > 0, got {self.penalty_repeat}")
        check(self.dry_multiplier >= 0.0, f"dry_multiplier must be >= 0, got {self.dry_multiplier}")
        check(self.dry_allowed_length >= 0, f"dry_allowed_length must be >= 0, got {self.dry_allowed_length}")
        check(self.dry_penalty_last_n >= -1, f"dry_penalty_last_n must be >= -1, got {self.dry_penalty_last_n}")
        check(self.mirostat in (0, 1, 2), f"mirostat must be 0, 1 or 2, got {self.mirostat}")
        check(self.mirostat_tau >= 0.0 and self.mirostat_eta >= 0.0, "mirostat tau and eta must be >= 0")
        if self.seed is not None:
            resolve_seed(self.seed)
        self.sampler_names()
        return self


    def _check_types(self) -> None:
        """Each field holds the kind of value its default has (ints may stand for floats), so the
        range checks below compare numbers, not lists or arrays."""
        for f in dataclasses.fields(self):
            v, default = getattr(self, f.name), f.default
            if isinstance(default, bool):
                ok = isinstance(v, (bool, np.bool_)) or (is_integer(v) and v in (0, 1))
            elif f.name == "seed":
                ok = v is None or is_integer(v)   # resolve_seed checks its range
            elif isinstance(default, int):   # counts and windows, as C ints in llama.cpp
                ok = is_integer(v) and -2**31 <= v < 2**31
            elif isinstance(default, float):
                ok = isinstance(v, Real) and not isinstance(v, (bool, np.bool_))
            elif isinstance(default, tuple):   # dry_sequence_breakers, samplers
                ok = (isinstance(v, str) and f.name == "samplers") or \
                    (isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v))
            else:   # logit_bias: None is no bias; LogitBias checks the entries
                if v is None:
                    self.logit_bias = {}
                ok = v is None or isinstance(v, (dict, list, tuple))
            kind = _KIND.get(dict if f.name == "logit_bias" else type(default), "a list of strings")
            check(ok, f"{f.name} must be {kind}, got {v!r}")


_KIND = {bool: "a bool", int: "a 32-bit integer", float: "a number", type(None): "an integer or None",
         dict: "a dict or a list of (token, bias) pairs"}


class SamplerChain:
    """Samplers applied in order to one candidate set; the last one selects a token.

    sample(logits) does not accept the token: call accept(token) for every token that enters the
    sequence (llama.cpp also accepts the prompt tokens, so penalties and DRY see them).
    """

    def __init__(self, samplers: Iterable[Sampler], seed: int | None = None, *, greedy: bool = False):
        self.samplers: list[Sampler] = list(samplers)
        self.seed = seed       # the seed in use (resolved), for reporting
        self.last: Candidates | None = None  # candidate set of the latest sample(): ids, probs
        # A temperature-0 chain (build_chain decides) picks the first maximum of the logits as
        # the logit-changing samplers (bias, penalties, DRY) leave them: the truncating samplers,
        # the temperature and the draw cannot change that token, and over a 50k-262k vocabulary
        # skipping them saves ~0.3-0.5 ms per token and sequence.
        self.greedy = greedy

    def sample(self, logits: np.ndarray, allowed_mask: np.ndarray | None = None) -> int:
        """logits: (n_vocab,) float32, not modified. allowed_mask: (n_vocab,) bool or None
        (a grammar's mask: disallowed tokens are removed before the first sampler)."""
        cands = Candidates.from_logits(logits, allowed_mask)
        if self.greedy:
            changers = [s for s in self.samplers if isinstance(s, (LogitBias, Penalties, DRY)) and s.active]
            pick = changers[0].argmax(cands) if len(changers) == 1 and isinstance(changers[0], LogitBias) else None
            if pick is None:
                for s in changers:
                    s.apply(cands)
                pick = int(np.argmax(cands.logits))
            cands.selected = pick
            self.last = cands
            return cands.token(cands.selected)
        for s in self.samplers:
            s.apply(cands)
        if cands.selected < 0:
            raise SamplingError("the sampler chain has no selecting sampler (dist, greedy or mirostat)")
        self.last = cands
        return cands.token(cands.selected)

    def accept(self, token: int) -> None:
        for s in self.samplers:
            s.accept(token)

    def reset(self) -> None:
        for s in self.samplers:
            s.reset()
        self.last = None

    def clone(self) -> "SamplerChain":
        return SamplerChain([s.clone() for s in self.samplers], self.seed, greedy=self.greedy)

    def __repr__(self) -> str:
        return f"SamplerChain({' -> '.join(s.name for s in self.samplers)}, seed={self.seed})"


def build_chain(params: SamplingParams | None = None, n_vocab: int | None = None, *,
                eog_tokens: Iterable[int] = (), n_ctx: int | None = None,
                n_ctx_train: int | None = None, dry_breakers: BreakerTable | None = None,
                token_text: Callable[[int], str] | None = None,
                tokenize: Callable[[str], list[int]] | None = None) -> SamplerChain:
    """The chain llama.cpp's common_sampler_init builds for `params`.

    n_vocab:      vocabulary size (needed for logit_bias, ignore_eos and mirostat v1)
    eog_tokens:   end-of-generation ids, banned when params.ignore_eos
    n_ctx:        context size; penalty_last_n == -1 means this (None: the whole history)
    n_ctx_train:  training context; dry_penalty_last_n == -1 means this (None: n_ctx or 4096)
    dry_breakers: DRY sequence breakers as token sequences; if None and DRY is on, they are
                  derived from params.dry_sequence_breakers with token_text/tokenize when given
    """
    params = (params or SamplingParams()).validate()
    seed = resolve_seed(params.seed)
    names = params.sampler_names()
    bias = dict(bias_entries(params.logit_bias))
    if params.ignore_eos:
        for t in eog_tokens:
            bias[int(t)] = -np.inf
    if bias:
        check(n_vocab is not None, "n_vocab is needed for logit_bias / ignore_eos")
    chain: list[Sampler] = [LogitBias(n_vocab or 0, bias)] if bias else []

    if params.mirostat == 1:
        check(n_vocab is not None, "n_vocab is needed for mirostat v1")
        chain += [Temperature(params.temp),
                  Mirostat(n_vocab, seed, params.mirostat_tau, params.mirostat_eta, 100)]
        return SamplerChain(chain, seed)
    if params.mirostat == 2:
        chain += [Temperature(params.temp), MirostatV2(seed, params.mirostat_tau, params.mirostat_eta)]
        return SamplerChain(chain, seed)

    for name in names:
        chain.append(_make(name, params, seed, n_vocab, n_ctx, n_ctx_train, dry_breakers,
                           token_text, tokenize))
    chain.append(Dist(seed))
    greedy = params.temp <= 0.0 and params.dynatemp_range <= 0.0 and _argmax_is_certain(chain)
    return SamplerChain(chain, seed, greedy=greedy)


def _argmax_is_certain(chain: list[Sampler]) -> bool:
    """True when a temperature-0 chain always emits the first max of the logits as the bias,
    penalties and DRY leave them (SamplerChain.greedy): those come first, then only samplers
    that keep the top token (an active XTC or typical-p may drop it), then the temperature."""
    i = 0
    while i < len(chain) and isinstance(chain[i], (LogitBias, Penalties, DRY)):
        i += 1
    while i < len(chain) and (chain[i].keeps_max or (isinstance(chain[i], XTC) and not chain[i].active)):
        i += 1
    return i == len(chain) - 2 and isinstance(chain[i], Temperature) and isinstance(chain[-1], Dist)


def _make(name, p: SamplingParams, seed, n_vocab, n_ctx, n_ctx_train, dry_breakers,
          token_text, tokenize) -> Sampler:
    if name == "penalties":
        last_n = p.penalty_last_n if p.penalty_last_n != -1 or n_ctx is None else n_ctx
        return Penalties(last_n, p.penalty_repeat, p.penalty_freq, p.penalty_present)
    if name == "dry":
        ctx_train = n_ctx_train or n_ctx or 4096
        dry = DRY(p.dry_multiplier, p.dry_base, p.dry_allowed_length, p.dry_penalty_last_n,
                  None, ctx_train)
        if dry.enabled:
            if dry_breakers is None and token_text is not None and tokenize is not None:
                check(n_vocab is not None, "n_vocab is needed to derive DRY sequence breakers")
                dry_breakers = sequence_breakers_from_strings(p.dry_sequence_breakers, n_vocab,
                                                              token_text, tokenize)
            dry.seq_breakers = dict(dry_breakers or {})
        return dry
    if name == "top_n_sigma":
        return TopNSigma(p.top_n_sigma)
    if name == "top_k":
        return TopK(p.top_k)
    if name == "typ_p":
        return Typical(p.typ_p, p.min_keep)
    if name == "top_p":
        return TopP(p.top_p, p.min_keep)
    if name == "min_p":
        return MinP(p.min_p, p.min_keep)
    if name == "xtc":
        return XTC(p.xtc_probability, p.xtc_threshold, p.min_keep, seed)
    if name == "temperature":
        return Temperature(p.temp, p.dynatemp_range, p.dynatemp_exponent)
    raise SamplingError(f"unknown sampler {name!r}")  # unreachable: names are validated


def greedy_chain() -> SamplerChain:
    """Plain argmax, nothing else."""
    return SamplerChain([Greedy()])


def top_logprobs(logits: np.ndarray, n: int, token: int | None = None):
    """log-softmax of the raw logits: (top n ids, their log-probs[, log-prob of `token`]).
    For llama.cpp's n_probs / OpenAI logprobs; costs one pass over the vocabulary."""
    from .base import top_k_indices
    logits = np.asarray(logits, dtype=np.float32)
    mx = logits.max()
    lse = np.float32(mx + np.log(np.exp(logits - mx, dtype=np.float32).sum(dtype=np.float64)))
    ids = top_k_indices(logits, n) if n > 0 else np.empty(0, dtype=np.intp)
    lp = logits[ids] - lse
    if token is None:
        return ids, lp
    return ids, lp, float(logits[token] - lse)
