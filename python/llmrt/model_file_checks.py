"""Checks of a model file's tensor table that the GGUF reader alone cannot make, run before the
native core maps any weight: tensor data out of place (a changed type, shape or offset makes a
tensor's bytes run into another's or leave a gap) and an embedding table whose shape does not
match the hyperparameters or the tokenizer. Either would load and then compute garbage or read
past the table."""

from __future__ import annotations

from .errors import GGUFError, ModelError
from .gguf_file import GGUFFile


def check_tensor_extents(gguf: GGUFFile) -> None:
    """The data section holds the tensors back to back in table order, each padded to the
    alignment, as GGUF writers lay them out and llama.cpp requires: a tensor whose type or shape
    was changed no longer ends where the next begins, and moved offsets break the sequence."""
    align = gguf.alignment
    expected, previous = 0, None
    for t in gguf.tensors:
        if t.offset != expected:
            after = f"the end of {previous.name!r} ({previous.type_name}, {previous.nbytes} bytes)" \
                if previous else "the start of the data section"
            raise GGUFError(f"{gguf.path}: tensor {t.name!r} ({t.type_name}, shape {t.shape}) has data "
                            f"offset {t.offset}, expected {expected}, {after}")
        previous, expected = t, (t.offset + t.nbytes + align - 1) // align * align
    section = gguf.file_size - gguf.data_offset
    end = previous.offset + previous.nbytes if previous else 0
    if section not in (end, expected):
        raise GGUFError(f"{gguf.path}: the data section has {section} bytes but its tensors end at "
                        f"byte {end}" + (f" ({previous.name!r}: {previous.type_name}, shape {previous.shape})"
                                         if previous else ""))


def check_embedding(gguf: GGUFFile, hp: dict) -> None:
    """token_embd is (n_embd, n_vocab) and the tokenizer has no id beyond n_vocab."""
    shape = gguf.tensor("token_embd.weight").shape
    n_vocab = hp["n_vocab"] or (shape[1] if len(shape) > 1 else 1)
    if tuple(shape[:2]) != (hp["n_embd"], n_vocab) or any(d != 1 for d in shape[2:]):
        raise ModelError(f"{gguf.path}: tensor 'token_embd.weight' has shape {shape}, expected "
                         f"(n_embd, n_vocab) = ({hp['n_embd']}, {n_vocab})")
    tokens = gguf.get("tokenizer.ggml.tokens")
    if isinstance(tokens, list) and len(tokens) > n_vocab:
        raise ModelError(f"{gguf.path}: the tokenizer has {len(tokens)} tokens but the model's "
                         f"vocabulary only {n_vocab}")


def check_model_file(gguf: GGUFFile, hp: dict) -> None:
    check_tensor_extents(gguf)
    check_embedding(gguf, hp)
