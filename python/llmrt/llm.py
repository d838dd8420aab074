"""LLM: load a GGUF model and run it.

    llm = llmrt.LLM("smollm2-135m")
    llm.logits([1, 2, 3])            # (3, n_vocab) teacher-forced logits, fresh context

    llm.generate("Once upon a time", max_tokens=64, temperature=0.8, seed=1)
    llm.generate(["a", "b", "c"], max_tokens=16)          # batched together
    for piece in llm.stream("Hello"): ...
    llm.generate_tokens("Hello", max_tokens=8, logprobs=5)  # ids + top-5 log-probs per step
    llm.chat([{"role": "user", "content": "Hi"}])

The native core does the arithmetic; kv.py decides which KV cells tokens go to and engine.py
which tokens run in each decode call.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from . import _core, arch, arguments, chat as chat_templates, models
from .arch.native import native_hparams, native_tensor_names
from .chat_fallback import fallback_template
from .device import resolve_device
from .engine import Engine
from .errors import ContextError, GrammarError, ModelError, SamplingError, TokenizerError
from .generation import (Completion, GenerationStats, Request, TokenEvent, check_max_tokens,
                         check_stop)
from .gguf_file import GGUFFile
from .kv import KVCache
from .kv_types import kv_bytes_per_cell, resolve_kv_types
from .model_file_checks import check_model_file
from .sampling import SamplingParams, build_chain
from .speculative import DraftModel, check_same_vocabulary, make_drafter

DEFAULT_N_BATCH = 512


def as_grammar(grammar, response_format=None):
    """Accept a Grammar, "json", a GBNF string or a JSON-schema dict; or an OpenAI-style
    response_format ({"type": "json_object"} / {"type": "json_schema", "json_schema": {...}})."""
    if response_format is not None and not isinstance(response_format, Mapping):
        raise GrammarError(f"response_format must be a dict, not {type(response_format).__name__}")
    if grammar is None and response_format:
        kind = response_format.get("type")
        if kind == "json_object":
            schema = response_format.get("schema")
            grammar = schema if schema else "json"
        elif kind == "json_schema":
            spec = response_format.get("json_schema") or {}
            grammar = spec.get("schema", spec) if isinstance(spec, Mapping) else spec
        elif kind != "text":
            raise GrammarError(f"response_format type {kind!r} is not supported")
    if grammar is None or hasattr(grammar, "matcher"):
        return grammar
    from .grammar import Grammar

    if isinstance(grammar, dict):
        return Grammar.from_json_schema(grammar)
    if isinstance(grammar, str):
        return Grammar.json() if grammar == "json" else Grammar.from_gbnf(grammar)
    raise GrammarError(f"grammar must be a Grammar, 'json', GBNF text or a schema dict, not {type(grammar).__name__}")


class LLM:
    """n_ctx: the longest a sequence may get (positions; 0: the model's training context, as in
    llama.cpp; negative: ContextError); n_cells: KV cells shared by all
    sequences (default n_ctx); n_parallel: requests decoded together; n_seq_max: sequence ids
    (running requests + cached prefixes, at most 64); context_shift: at n_ctx drop half of the
    tokens after the first n_keep and go on (False: raise ContextError). device: "auto" (the GPU
    when the model can run there, else the CPU), "cpu" or "cuda" (DeviceError when unavailable);
    n_gpu_layers: layers to offload (None or -1: all), with device "cuda" or "auto". repack: copy
    the Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 and Q2_K..Q6_K matrices (and IQ4_XS; IQ4_NL on AVX-512) at load
    into a row-interleaved layout (8 rows for the AVX2 kernels, 16 for AVX-512 VNNI) that they
    read faster, as llama.cpp's CPU repack buffers do (the copies replace the file's pages in
    memory); None: on unless the environment sets LLMRT_REPACK=0. draft: speculative decoding, "lookup" (prompt lookup: the
    sequence's last n-gram found earlier proposes what followed it), a smaller model with the same
    vocabulary (path, alias or LLM) that drafts greedily, or None; n_draft: the most tokens
    checked per step. deterministic: batch-invariant kernels, so a sequence's logits are the same
    bits whatever it is batched with (dense models; slower prefill for unpacked weight types).
    kv_type_k / kv_type_v: the K and V cache element types, "f16" (default), "f32", "q8_0" or
    "q4_0" (kv_types.py; llama.cpp's --cache-type-k/-v); kv_type sets both."""

    def __init__(self, model: str | os.PathLike = models.DEFAULT_MODEL, n_ctx: int = 4096,
                 n_threads: int | None = None, n_batch: int = DEFAULT_N_BATCH, n_seq_max: int = 64,
                 n_parallel: int = 16, n_cells: int | None = None, context_shift: bool = True,
                 n_keep: int = 0, kv_type: str | None = None, device: str = "auto",
                 n_gpu_layers: int | None = None, repack: bool | None = None, draft=None,
                 n_draft: int = 8, deterministic: bool = False, kv_type_k: str | None = None,
                 kv_type_v: str | None = None):
        # Checked before the model is fetched or mapped: a bad device fails fast.
        self.device: str = resolve_device(device, n_gpu_layers)
        self.n_gpu_layers = n_gpu_layers if self.device == "cuda" else 0
        n_ctx = arguments.count("n_ctx", n_ctx, hi=1 << 24)
        n_cells = arguments.optional_count("n_cells", n_cells, lo=1, hi=1 << 24)
        n_seq_max = arguments.count("n_seq_max", n_seq_max, lo=1, hi=64)
        n_batch, n_parallel = arguments.count("n_batch", n_batch, lo=1), arguments.count("n_parallel", n_parallel, lo=1)
        n_keep, n_threads = arguments.count("n_keep", n_keep), arguments.optional_count("n_threads", n_threads, hi=1024)
        context_shift = arguments.flag("context_shift", context_shift)
        repack = None if repack is None else arguments.flag("repack", repack, ModelError)
        type_k, type_v = resolve_kv_types(kv_type, kv_type_k, kv_type_v)
        self.model_path = models.resolve(arguments.model_spec(model))
        self.gguf = GGUFFile(self.model_path)
        self.metadata: dict[str, Any] = self.gguf.metadata
        self.architecture: str = self.metadata.get("general.architecture", "")
        if not isinstance(self.architecture, str) or not self.architecture:
            raise ModelError(f"{self.model_path}: no general.architecture name in the metadata")
        self.spec = arch.lookup(self.architecture, self.metadata)
        self.hparams = self.spec.hparams(self.metadata)
        self.spec.check_tensors({t.name for t in self.gguf.tensors}, self.hparams["n_layer"],
                                self.hparams.get("n_expert", 0))
        check_model_file(self.gguf, self.hparams)
        if repack is None:
            repack = os.environ.get("LLMRT_REPACK", "1") != "0"
        self.n_ctx_train: int = self.hparams["n_ctx_train"]
        self.n_ctx = n_ctx or self.n_ctx_train or 4096
        names = self.spec.tensor_names(self.metadata, self.n_ctx)
        self._model = _core.Model(self.gguf._native, native_hparams(self.hparams), native_tensor_names(names),
                                  bool(repack))
        self.n_vocab: int = self._model.n_vocab
        self.n_cells = n_cells or self.n_ctx
        self.n_batch = n_batch
        self.n_threads = n_threads or _core.physical_cores()
        self.kv_type_k, self.kv_type_v = type_k, type_v
        arguments.kv_cache_fits(self.n_cells * kv_bytes_per_cell(self.hparams, type_k, type_v))
        self._ctx = _core.Context(self._model, self.n_cells, int(n_seq_max), self.n_threads, type_k, type_v)
        self._ctx.deterministic = arguments.flag("deterministic", deterministic)
        kv = KVCache(self._ctx, self._ctx.n_seq_max, self.hparams.get("sliding_window", 0),
                     self.hparams.get("layer_is_swa", ()))
        self.engine = Engine(self._ctx, kv, self.n_ctx, n_parallel=n_parallel, n_batch=self.n_batch,
                             context_shift=context_shift, n_keep=n_keep, bos_id=self._bos_kept_at_shift)
        self.drafter = make_drafter(draft, n_draft, lambda spec: LLM(
            spec, n_ctx=self.n_ctx, n_threads=self.n_threads, n_batch=self.n_batch, n_seq_max=n_seq_max,
            n_parallel=n_parallel, kv_type_k=type_k, kv_type_v=type_v, repack=repack))
        if isinstance(self.drafter, DraftModel):
            check_same_vocabulary(self, self.drafter.llm)

    def _bos_kept_at_shift(self) -> int | None:
        tok = self.tokenizer
        return tok.bos_id if tok.add_bos else None

    def __repr__(self) -> str:
        return f"LLM({str(self.model_path)!r}, architecture={self.architecture!r}, n_ctx={self.n_ctx})"

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V bytes one cell takes over all layers."""
        return kv_bytes_per_cell(self.hparams, self.kv_type_k, self.kv_type_v)

    @property
    def stats(self) -> dict:
        """Engine counters (prefix-cache hits, context shifts, ...) and KV memory figures."""
        d = self.engine.info()
        d.update(kv_type_k=self.kv_type_k, kv_type_v=self.kv_type_v, kv_bytes_per_token=self.kv_bytes_per_token,
                 kv_bytes=self.kv_bytes_per_token * self.n_cells)
        return d

    # ---- raw forward passes -------------------------------------------------------------

    def _check_tokens(self, tokens: Sequence[int]) -> np.ndarray:
        ids = arguments.token_ids(tokens, self.n_vocab)
        if ids.size == 0:
            raise ContextError("no tokens given")
        return ids

    def logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Teacher-forced logits (len(tokens), n_vocab) of one sequence, from a fresh context."""
        ids = self._check_tokens(tokens)
        if ids.size > self.n_ctx:
            raise ContextError(f"{ids.size} tokens do not fit in the context of {self.n_ctx}")
        with self.engine.lock:
            self.reset()
            return self.engine.decode_direct(ids, want_all=True)

    def reset(self) -> None:
        """Empty the KV cache (of everything no running request holds)."""
        self.engine.reset()

    def eval_prefix(self, tokens: Sequence[int]) -> np.ndarray:
        """Make the cache hold exactly `tokens`, reusing the longest cached prefix, and return
        the logits (n_vocab,) after the last token. At least the last token is recomputed."""
        return self.engine.eval_prefix(self._check_tokens(tokens))

    def eval_next(self, token: int) -> np.ndarray:
        """Append one token to the sequence eval_prefix started; logits (n_vocab,) after it."""
        return self.engine.eval_next(self._check_tokens([token]))

    @property
    def _cached(self) -> list[int]:
        return self.engine.direct_tokens()

    # ---- text ---------------------------------------------------------------------------

    @cached_property
    def tokenizer(self):
        from .tokenizer import Tokenizer

        return Tokenizer.from_metadata(self.metadata)

    def tokenize(self, text: str | bytes, add_special: bool = True, parse_special: bool = False) -> list[int]:
        return self.tokenizer.tokenize(text, add_special=arguments.flag("add_special", add_special, TokenizerError),
                                       parse_special=arguments.flag("parse_special", parse_special, TokenizerError))

    def detokenize(self, ids: Sequence[int]) -> str:
        return self.tokenizer.detokenize(ids)


    # ---- generation ---------------------------------------------------------------------

    def _prompt_ids(self, prompt: str | bytes | Sequence[int]) -> list[int]:
        if isinstance(prompt, arguments.TEXT_TYPES):
            ids = self.tokenize(prompt, add_special=True, parse_special=True)
        else:
            ids = arguments.token_ids(prompt, self.n_vocab, "prompt token ids").tolist()
        if not ids:
            raise ContextError("empty prompt")
        if len(ids) >= self.n_ctx:
            raise ContextError(f"prompt of {len(ids)} tokens does not fit in the context of {self.n_ctx}")
        return ids

    def _request(self, prompt, max_tokens, stop, stats=None, grammar=None, logprobs=0,
                 **sampling) -> Request:
        grammar = as_grammar(grammar, sampling.pop("response_format", None))
        params = SamplingParams.from_kwargs(**sampling)
        n_probs = arguments.count("logprobs", 0 if logprobs is None else logprobs, error=SamplingError) or params.n_probs
        return self.new_request(self._prompt_ids(prompt), check_max_tokens(max_tokens), check_stop(stop),
                                params, grammar=grammar, n_probs=n_probs, stats=stats, drafter=self.drafter)

    def new_request(self, prompt_ids: list[int], max_tokens: int | None, stop: Sequence[str],
                    params: SamplingParams, grammar=None, n_probs: int = 0, stats: GenerationStats | None = None,
                    lazy_grammar=None, drafter=None) -> Request:
        """A Request for this model's engine: its sampler chain, grammar matcher, detokenizer
        and end-of-generation tokens, built from the model's tokenizer and sizes."""
        tok = self.tokenizer
        chain = build_chain(params, self.n_vocab, eog_tokens=tok.eog_ids, n_ctx=self.n_ctx,
                            n_ctx_train=self.n_ctx_train or None, token_text=tok.token_text,
                            tokenize=lambda s: tok.tokenize(s, add_special=False, parse_special=False))
        return Request(prompt_ids, chain, grammar.matcher(tok) if grammar is not None else None,
                       tok.streaming_detokenizer(), eog_ids=frozenset() if params.ignore_eos else tok.eog_ids,
                       max_tokens=max_tokens, stop=stop, n_probs=n_probs, stats=stats,
                       lazy_grammar=lazy_grammar, make_matcher=lambda g: g.matcher(tok), drafter=drafter)

    @staticmethod
    def _is_batch(prompt) -> bool:
        return isinstance(prompt, (list, tuple)) and len(prompt) > 0 and \
            isinstance(prompt[0], (*arguments.TEXT_TYPES, list, tuple, np.ndarray))

    def stream_tokens(self, prompt: str | Sequence[int], max_tokens: int | None = 128,
                      stop: Sequence[str] = (), stats: GenerationStats | None = None, grammar=None,
                      logprobs: int = 0, **sampling) -> Iterator[TokenEvent]:
        """Yield a TokenEvent per generated token (token id, released text, log-probs if asked),
        then one with token None for text held back until the end."""
        req = self._request(prompt, max_tokens, stop, stats, grammar, logprobs, **sampling)
        return self.engine.events(req)

    def stream(self, prompt: str | Sequence[int], max_tokens: int | None = 128, stop: Sequence[str] = (),
               stats: GenerationStats | None = None, grammar=None, **sampling) -> Iterator[str]:
        """Yield the completion's text as it decodes. Sampling keywords use llama.cpp's names
        (temp/temperature, top_k, top_p, min_p, repeat_penalty, seed, ...). Text that could
        still become a stop string is held back; the stop string itself is never emitted."""
        return _texts(self.stream_tokens(prompt, max_tokens, stop, stats, grammar, **sampling))

    def _run(self, prompts, max_tokens, stop, grammar, logprobs, sampling) -> list[Request]:
        if "logprobs" in sampling:
            raise SamplingError("generate() returns text only; ask generate_tokens() for logprobs")
        reqs = [self._request(p, max_tokens, stop, None, grammar, logprobs, **sampling) for p in prompts]
        self.engine.run(reqs)
        return reqs

    @staticmethod
    def _completion(req: Request) -> Completion:
        evs = list(req.events)
        req.events.clear()
        steps = [e for e in evs if e.token is not None]
        want = req.n_probs > 0
        return Completion(text="".join(e.text for e in evs), tokens=[e.token for e in steps],
                          finish_reason=req.stats.finish_reason,
                          logprobs=[e.logprob for e in steps] if want else None,
                          top_logprobs=[e.top_logprobs for e in steps] if want else None,
                          stats=req.stats)

    def generate_tokens(self, prompt, max_tokens: int | None = 128, stop: Sequence[str] = (),
                        grammar=None, logprobs: int = 0, **sampling) -> Completion | list[Completion]:
        """Token-level generation: a Completion with the ids, the text, the finish reason and,
        with logprobs=n, each step's log-probability and top-n alternatives (raw model
        distribution, as OpenAI's logprobs / llama.cpp's n_probs). A list of prompts runs batched."""
        batch = self._is_batch(prompt)
        reqs = self._run(prompt if batch else [prompt], max_tokens, stop, grammar, logprobs, sampling)
        out = [self._completion(r) for r in reqs]
        return out if batch else out[0]

    def generate(self, prompt: str | Sequence[int] | list[str], max_tokens: int | None = 128,
                 stop: Sequence[str] = (), grammar=None, **sampling) -> str | list[str]:
        """The completion of a prompt; a list of prompts gives a list of completions, decoded
        together (one decode call per step carries every sequence)."""
        batch = self._is_batch(prompt)
        reqs = self._run(prompt if batch else [prompt], max_tokens, stop, grammar, 0, sampling)
        out = ["".join(e.text for e in r.events) for r in reqs]
        return out if batch else out[0]

    @property
    def chat_template(self) -> str | None:
        """The GGUF's own template, else its family's known layout (None: ChatML)."""
        return self.metadata.get("tokenizer.chat_template") or fallback_template(self.architecture)

    def apply_chat_template(self, messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool = True,
                            **template_vars) -> str:
        """The conversation as the model's template writes it; template_vars (tools=...,
        enable_thinking=...) are passed to the template."""
        tok = self.tokenizer
        return chat_templates.render(
            self.chat_template, messages,
            bos_token=tok.token_text(tok.bos_id) if tok.bos_id is not None and tok.bos_id >= 0 else "",
            eos_token=tok.token_text(tok.eos_id) if tok.eos_id is not None and tok.eos_id >= 0 else "",
            add_generation_prompt=add_generation_prompt, **template_vars)

    def chat_prompt_ids(self, messages: Sequence[Mapping[str, Any]], **template_vars) -> list[int]:
        text = self.apply_chat_template(messages, **template_vars)
        tok = self.tokenizer
        bos = tok.token_text(tok.bos_id) if tok.bos_id is not None and tok.bos_id >= 0 else None
        # Templates that write the BOS token themselves must not get a second one.
        add_special = not (bos and text.startswith(bos))
        return self.tokenize(text, add_special=add_special, parse_special=True)

    def chat(self, messages: Sequence[Mapping[str, Any]], max_tokens: int | None = 256, stream: bool = False,
             stop: Sequence[str] = (), grammar=None, stats: GenerationStats | None = None, **sampling):
        """Answer a conversation using the model's own chat template (str, or pieces if stream).
        Earlier turns still in the KV cache are reused: only the new turn is prefilled."""
        pieces = self.stream(self.chat_prompt_ids(messages), max_tokens, stop, stats=stats, grammar=grammar,
                             **sampling)
        return pieces if stream else "".join(pieces)


def _texts(events: Iterator[TokenEvent]) -> Iterator[str]:
    try:
        for ev in events:
            if ev.text:
                yield ev.text
    finally:
        events.close()  # an abandoned stream cancels its request and frees its sequence
