"""Perplexity of a token sequence under a model: how a quantized file is judged against the
one it came from (the quantization tests, `tools/`).

Teacher-forced: one fresh-context forward pass over the whole sequence (`LLM.logits`), then
the mean negative log-likelihood of every token after the first given the tokens before it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def token_nll(logits: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """(len(ids) - 1,) negative log-likelihoods (nats) of ids[1:], logits (len(ids), n_vocab)."""
    ids = np.asarray(ids, dtype=np.int64)
    rows = logits[:-1].astype(np.float64)                  # (n - 1, n_vocab): predicts ids[1:]
    top = rows.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(rows - top).sum(axis=1)) + top[:, 0]
    return log_z - rows[np.arange(rows.shape[0]), ids[1:]]


def perplexity(llm, ids: Sequence[int]) -> float:
    """exp(mean NLL) of ids[1:] given their prefixes; llm is an `llmrt.LLM`."""
    if len(ids) < 2:
        raise ValueError("perplexity needs at least two tokens")
    return float(np.exp(token_nll(llm.logits(ids), ids).mean()))
