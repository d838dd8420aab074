"""Samplers: every llama.cpp sampler as a small object with apply / accept / reset / clone, and
the chain that composes them. See chain.build_chain for the default (llama.cpp common) order."""

from .base import Candidates, Sampler, softmax, top_k_indices
from .basic import XTC, Dist, Greedy, MinP, Temperature, TopK, TopNSigma, TopP, Typical
from .chain import (ALIASES, DEFAULT_SAMPLERS, SamplerChain, SamplingParams, build_chain,
                    greedy_chain, top_logprobs)
from .logit_bias import LogitBias
from .mirostat import Mirostat, MirostatV2
from .penalties import DRY, Penalties, sequence_breakers_from_strings, sequence_breakers_from_tokens

__all__ = [
    "ALIASES", "Candidates", "DEFAULT_SAMPLERS", "DRY", "Dist", "Greedy", "LogitBias", "MinP",
    "Mirostat", "MirostatV2", "Penalties", "Sampler", "SamplerChain", "SamplingParams",
    "Temperature", "TopK", "TopNSigma", "TopP", "Typical", "XTC", "build_chain", "greedy_chain",
    "sequence_breakers_from_strings", "sequence_breakers_from_tokens", "softmax",
    "top_k_indices", "top_logprobs",
]
