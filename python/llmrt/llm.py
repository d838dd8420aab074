"""LLM: load a GGUF model and run it.

    llm = llmrt.LLM("smollm2-135m")
    llm.logits([1, 2, 3])            # (3, n_vocab) teacher-forced logits, fresh context

    llm.generate("Once upon a time", max_tokens=64, temperature=0.8, seed=1)
    for piece in llm.stream("Hello"): ...
    llm.chat([{"role": "user", "content": "Hi"}])

The native core does the arithmetic; this class decides which KV cells tokens go to. Until the
slot manager (kv.py) lands, one sequence uses cells 0..n-1 in order.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from . import _core, arch, chat as chat_templates, models
from .errors import ContextError, ModelError
from .generation import GenerationStats, generate_pieces
from .gguf_file import GGUFFile
from .sampling import SamplingParams

DEFAULT_N_BATCH = 512


class LLM:
    def __init__(self, model: str | os.PathLike = models.DEFAULT_MODEL, n_ctx: int = 4096,
                 n_threads: int | None = None, n_batch: int = DEFAULT_N_BATCH, n_seq_max: int = 1):
        self.model_path = models.resolve(model)
        self.gguf = GGUFFile(self.model_path)
        self.metadata: dict[str, Any] = self.gguf.metadata
        self.architecture: str = self.metadata.get("general.architecture", "")
        if not self.architecture:
            raise ModelError(f"{self.model_path}: no general.architecture in the metadata")
        self.spec = arch.lookup(self.architecture)
        self.hparams = self.spec.hparams(self.metadata)
        self.spec.check_tensors({t.name for t in self.gguf.tensors}, self.hparams["n_layer"])
        self._model = _core.Model(str(self.model_path), self.hparams, self.spec.tensor_names())
        self.n_vocab: int = self._model.n_vocab
        self.n_ctx_train: int = int(self.metadata.get(f"{self.architecture}.context_length", 0))
        if n_ctx <= 0:
            n_ctx = self.n_ctx_train or 4096
        self.n_ctx = int(n_ctx)
        self.n_batch = int(n_batch)
        self.n_threads = int(n_threads) if n_threads else _core.physical_cores()
        self._ctx = _core.Context(self._model, self.n_ctx, n_seq_max, self.n_threads)
        self._cached: list[int] = []  # tokens whose K/V sit in cells 0..len-1 of sequence 0

    def __repr__(self) -> str:
        return f"LLM({str(self.model_path)!r}, architecture={self.architecture!r}, n_ctx={self.n_ctx})"

    # ---- raw forward passes -------------------------------------------------------------

    def _check_tokens(self, tokens: Sequence[int]) -> np.ndarray:
        ids = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if ids.size == 0:
            raise ContextError("no tokens given")
        if ids.min() < 0 or ids.max() >= self.n_vocab:
            bad = int(ids[(ids < 0) | (ids >= self.n_vocab)][0])
            raise ContextError(f"token id {bad} outside the vocabulary (0..{self.n_vocab - 1})")
        return ids.astype(np.int32)

    def _decode_span(self, ids: np.ndarray, start: int, want_all: bool) -> np.ndarray:
        """Decode ids at positions start.. into cells start.. of sequence 0, in n_batch chunks.

        Returns the logits of every token (want_all) or only of the last one."""
        if start + ids.size > self.n_ctx:
            raise ContextError(f"{start + ids.size} tokens do not fit in the context of {self.n_ctx}")
        cell_pos, cell_seqs = self._ctx.cell_pos, self._ctx.cell_seqs
        outputs = []
        for begin in range(0, ids.size, self.n_batch):
            chunk = ids[begin:begin + self.n_batch]
            pos = np.arange(start + begin, start + begin + chunk.size, dtype=np.int32)
            cell_pos[pos] = pos
            cell_seqs[pos] = 1
            want = np.ones(chunk.size, np.uint8) if want_all else np.zeros(chunk.size, np.uint8)
            if not want_all and begin + chunk.size == ids.size:
                want[-1] = 1
            out = self._ctx.decode(chunk, pos, np.zeros(chunk.size, np.int32), pos, want)
            if out.shape[0]:
                outputs.append(out)
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]

    def logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Teacher-forced logits (len(tokens), n_vocab) of one sequence, from a fresh context."""
        ids = self._check_tokens(tokens)
        self.reset()
        out = self._decode_span(ids, 0, want_all=True)
        self._cached = ids.tolist()
        return out

    def reset(self) -> None:
        """Empty the KV cache."""
        self._ctx.clear()
        self._cached = []

    def eval_prefix(self, tokens: Sequence[int]) -> np.ndarray:
        """Make the cache hold exactly `tokens`, reusing the longest cached prefix, and return
        the logits (n_vocab,) after the last token. At least the last token is recomputed."""
        ids = self._check_tokens(tokens)
        keep = 0
        limit = min(len(self._cached), ids.size - 1)
        while keep < limit and self._cached[keep] == ids[keep]:
            keep += 1
        if keep < len(self._cached):
            # drop the diverging tail: those cells become free
            self._ctx.cell_pos[keep:len(self._cached)] = -1
            self._ctx.cell_seqs[keep:len(self._cached)] = 0
        self._cached = self._cached[:keep]
        out = self._decode_span(ids[keep:], keep, want_all=False)
        self._cached = ids.tolist()
        return out[-1]

    def eval_next(self, token: int) -> np.ndarray:
        """Append one token to the cached sequence; logits (n_vocab,) after it."""
        ids = self._check_tokens([token])
        out = self._decode_span(ids, len(self._cached), want_all=False)
        self._cached.append(int(token))
        return out[-1]

    # ---- text ---------------------------------------------------------------------------

    @cached_property
    def tokenizer(self):
        from .tokenizer import Tokenizer

        return Tokenizer.from_metadata(self.metadata)

    def tokenize(self, text: str | bytes, add_special: bool = True, parse_special: bool = False) -> list[int]:
        return self.tokenizer.tokenize(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, ids: Sequence[int]) -> str:
        return self.tokenizer.detokenize(ids)

    # ---- generation ---------------------------------------------------------------------

    def _prompt_ids(self, prompt: str | Sequence[int]) -> list[int]:
        if isinstance(prompt, str):
            ids = self.tokenize(prompt, add_special=True, parse_special=True)
        else:
            ids = [int(t) for t in prompt]
        if not ids:
            raise ContextError("empty prompt")
        if len(ids) >= self.n_ctx:
            raise ContextError(f"prompt of {len(ids)} tokens does not fit in the context of {self.n_ctx}")
        return ids

    def stream(self, prompt: str | Sequence[int], max_tokens: int = 128, stop: Sequence[str] = (),
               stats: GenerationStats | None = None, **sampling) -> Iterator[str]:
        """Yield the completion's text as it decodes. Sampling keywords use llama.cpp's names
        (temp/temperature, top_k, top_p, min_p, repeat_penalty, seed, ...)."""
        params = SamplingParams.from_kwargs(**sampling)
        ids = self._prompt_ids(prompt)
        return generate_pieces(self, ids, int(max_tokens), list(stop), params,
                               stats if stats is not None else GenerationStats())

    def generate(self, prompt: str | Sequence[int] | list[str], max_tokens: int = 128,
                 stop: Sequence[str] = (), **sampling) -> str | list[str]:
        """The completion of a prompt; a list of prompts gives a list of completions (run one
        after another until the batching engine lands)."""
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
            return [self.generate(p, max_tokens, stop, **sampling) for p in prompt]
        return "".join(self.stream(prompt, max_tokens, stop, **sampling))

    def apply_chat_template(self, messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool = True) -> str:
        tok = self.tokenizer
        return chat_templates.render(
            self.metadata.get("tokenizer.chat_template"), messages,
            bos_token=tok.token_text(tok.bos_id) if tok.bos_id is not None and tok.bos_id >= 0 else "",
            eos_token=tok.token_text(tok.eos_id) if tok.eos_id is not None and tok.eos_id >= 0 else "",
            add_generation_prompt=add_generation_prompt)

    def chat_prompt_ids(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        text = self.apply_chat_template(messages)
        tok = self.tokenizer
        bos = tok.token_text(tok.bos_id) if tok.bos_id is not None and tok.bos_id >= 0 else None
        # Templates that write the BOS token themselves must not get a second one.
        add_special = not (bos and text.startswith(bos))
        return self.tokenize(text, add_special=add_special, parse_special=True)

    def chat(self, messages: Sequence[Mapping[str, Any]], max_tokens: int = 256, stream: bool = False,
             stop: Sequence[str] = (), **sampling):
        """Answer a conversation using the model's own chat template (str, or pieces if stream)."""
        pieces = self.stream(self.chat_prompt_ids(messages), max_tokens, stop, **sampling)
        return pieces if stream else "".join(pieces)
