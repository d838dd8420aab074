"""Checks of the arguments the public API takes, so that a bad one is an LLMRTError subclass
naming it rather than a TypeError, an OverflowError or a silently converted value.

One meaning per type, everywhere:
  - str is text; bytes and bytearray are UTF-8 text too (tokenize, prompts);
  - token ids are Python or NumPy integers (never bool, float or None) in a list, tuple or
    integer array; a str or bytes where token ids are expected is an error.
"""

from __future__ import annotations

import os
from numbers import Integral
from typing import Any, Sequence

import numpy as np

from .errors import ContextError, LLMRTError, ModelNotFoundError

INT32_MAX = 2**31 - 1
TEXT_TYPES = (str, bytes, bytearray)


def is_integer(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def count(name: str, value: Any, lo: int = 0, hi: int = INT32_MAX,
          error: type[LLMRTError] = ContextError) -> int:
    """An integer argument in lo..hi."""
    if not is_integer(value):
        raise error(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise error(f"{name} must be in {lo}..{hi}, got {value}")
    return int(value)


def flag(name: str, value: Any, error: type[LLMRTError] = ContextError) -> bool:
    """A bool argument (0 and 1 pass as False and True)."""
    if not isinstance(value, (bool, np.bool_)) and not (is_integer(value) and value in (0, 1)):
        raise error(f"{name} must be True or False, got {value!r}")
    return bool(value)


def optional_count(name: str, value: Any, lo: int = 0, hi: int = INT32_MAX,
                   error: type[LLMRTError] = ContextError) -> int | None:
    return None if value is None else count(name, value, lo, hi, error)


def token_ids(tokens: Any, n_vocab: int | None = None, what: str = "token ids",
              error: type[LLMRTError] = ContextError) -> np.ndarray:
    """A 1-D int32 array of token ids (each in 0..n_vocab-1 when n_vocab is given)."""
    if isinstance(tokens, TEXT_TYPES):
        raise error(f"{what} must be a sequence of integers; got {type(tokens).__name__} "
                    "(text goes through tokenize())")
    if isinstance(tokens, np.ndarray):
        if tokens.dtype.kind not in "iu":
            raise error(f"{what} must be integers, got an array of {tokens.dtype}")
        ids = tokens.reshape(-1)
    elif isinstance(tokens, (Sequence, range)):
        for t in tokens:
            if not is_integer(t):
                raise error(f"{what} must be integers, got {t!r}")
        ids = tokens
    else:
        raise error(f"{what} must be a list of integers, got {type(tokens).__name__}")
    if len(ids) == 0:
        return np.zeros(0, np.int32)
    lo, hi = int(min(ids)), int(max(ids))
    limit = n_vocab if n_vocab is not None else INT32_MAX + 1
    if lo < 0 or hi >= limit:
        bad = lo if lo < 0 else hi
        raise error(f"token id {bad} out of range: outside the vocabulary (0..{limit - 1})")
    return np.asarray(ids, dtype=np.int64).astype(np.int32)


def model_spec(value: Any) -> str | os.PathLike:
    if not isinstance(value, (str, os.PathLike)):
        raise ModelNotFoundError(f"model must be a path or an alias, got {type(value).__name__}")
    return value


def kv_cache_fits(n_bytes: int) -> None:
    """Refuse a KV cache larger than the machine's memory: allocating it would not fail
    cleanly but get the process killed once its pages are touched."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return
    if n_bytes > total:
        raise ContextError(f"the KV cache would take {n_bytes / 2**30:.1f} GiB, more than this "
                           f"machine's {total / 2**30:.1f} GiB of memory; use a smaller n_ctx or n_cells")
