"""Perplexity of a token sequence under a model: how a quantized file is judged against the
one it came from (the quantization tests, `tools/`), or a quantized KV cache against fp16.

Teacher-forced: one fresh-context forward pass over the whole sequence, then the mean negative
log-likelihood of every token after the first given the tokens before it. With `chunk`, the
pass runs chunk tokens at a time and each chunk's logits are scored and dropped, so a long
text under a large vocabulary never holds (len(ids), n_vocab) logits at once.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def next_token_nll(rows: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """(len(targets),) negative log-likelihoods (nats) of targets[i] under logits rows[i]."""
    rows = rows.astype(np.float64)
    top = rows.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(rows - top).sum(axis=1)) + top[:, 0]
    return log_z - rows[np.arange(rows.shape[0]), np.asarray(targets, dtype=np.int64)]


def token_nll(logits: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """(len(ids) - 1,) negative log-likelihoods (nats) of ids[1:], logits (len(ids), n_vocab)."""
    return next_token_nll(logits[:-1], np.asarray(ids, dtype=np.int64)[1:])


def perplexity(llm, ids: Sequence[int], chunk: int | None = None) -> float:
    """exp(mean NLL) of ids[1:] given their prefixes; llm is an `llmrt.LLM`."""
    if len(ids) < 2:
        raise ValueError("perplexity needs at least two tokens")
    if chunk is None:
        return float(np.exp(token_nll(llm.logits(ids), ids).mean()))
    ids = np.asarray(ids, dtype=np.int32)
    nll = []
    with llm.engine.lock:
        llm.reset()
        for begin in range(0, ids.size - 1, chunk):
            part = ids[begin:min(begin + chunk, ids.size - 1)]
            rows = llm.engine.decode_direct(part, want_all=True)
            nll.append(next_token_nll(rows, ids[begin + 1:begin + 1 + part.size]))
    return float(np.exp(np.concatenate(nll).mean()))
