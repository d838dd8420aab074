"""GGUF tokenizer metadata -> a Vocab: token texts, attributes, special ids, EOG set.

Mirrors llama.cpp's llama_vocab::impl::load (src/llama-vocab.cpp) for the parts that change
token ids: per-model defaults for special ids and add_bos/add_eos, the token-type -> attribute
mapping, the text-based EOT/EOG detection and the special-token cache used for partitioning.
Everything here is built with NumPy or in one pass over the token list: Gemma has 262,144 tokens
and building must stay well under a second.
"""

from __future__ import annotations

import numpy as np

from ..errors import TokenizerError

# llama_token_attr bits (llama.h)
ATTR_UNDEFINED = 0
ATTR_UNKNOWN = 1 << 0
ATTR_UNUSED = 1 << 1
ATTR_NORMAL = 1 << 2
ATTR_CONTROL = 1 << 3
ATTR_USER_DEFINED = 1 << 4
ATTR_BYTE = 1 << 5
ATTR_LSTRIP = 1 << 7
ATTR_RSTRIP = 1 << 8

# GGUF tokenizer.ggml.token_type value -> attribute (index = token type; 7+ -> undefined)
_TYPE_TO_ATTR = np.array([ATTR_UNDEFINED, ATTR_NORMAL, ATTR_UNKNOWN, ATTR_CONTROL,
                          ATTR_USER_DEFINED, ATTR_UNUSED, ATTR_BYTE, ATTR_UNDEFINED], dtype=np.int32)

# llama.cpp finds the EOT token by text when the metadata has no eot id; the first hit in its
# unordered_map wins, which we cannot reproduce, so we take the first in this list's order.
_EOT_TEXTS = ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
              "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
              "<end_of_utterance>")
_EOM_TEXTS = ("<|eom_id|>",)
_FIM_TEXTS = {  # FIM pad/rep/sep end generation too
    "fim_pad": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"),
    "fim_rep": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
    "fim_sep": ("<|file_sep|>",),
}
# Texts that always end generation (llama.cpp's special_eog_ids detection).
_EOG_TEXTS = ("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
              "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
              "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
              "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[")

_KEY = "tokenizer.ggml."


class Vocab:
    """Token table plus the special-token facts llama.cpp derives from the GGUF metadata.

    tokens: list[str] (n_vocab); attrs: np.int32 (n_vocab); scores: np.float32 (n_vocab).
    """

    def __init__(self, metadata: dict):
        self.model = metadata.get(_KEY + "model")
        if self.model is None:
            raise TokenizerError("GGUF metadata has no tokenizer.ggml.model")
        if self.model not in ("llama", "gpt2"):
            raise TokenizerError(f"unsupported tokenizer model {self.model!r} "
                                 "(supported: 'llama' (SentencePiece), 'gpt2' (byte-level BPE))")
        self.pre = metadata.get(_KEY + "pre") or "default"
        tokens = metadata.get(_KEY + "tokens")
        if not tokens:
            raise TokenizerError("GGUF metadata has no tokenizer.ggml.tokens")
        self.tokens = list(tokens)
        n = len(self.tokens)
        for i, t in enumerate(self.tokens):  # llama.cpp renames empty tokens
            if not t:
                self.tokens[i] = f"[EMPTY_{i}]"
        self._load_arrays(metadata, n)
        # dict(zip()) keeps the last id for a duplicated text, as llama.cpp's token_to_id does
        self.token_to_id = dict(zip(self.tokens, range(n)))
        self._load_flags(metadata)
        self._load_special_ids(metadata)
        self._detect_by_text()
        self.special_tokens = self._special_cache()

    @property
    def n_vocab(self) -> int:
        return len(self.tokens)

    def _load_arrays(self, md: dict, n: int) -> None:
        scores = md.get(_KEY + "scores")
        self.scores = (np.zeros(n, np.float32) if scores is None
                       else np.asarray(scores, dtype=np.float32)[:n])
        types = md.get(_KEY + "token_type")
        if types is None:
            self.attrs = np.full(n, ATTR_NORMAL, np.int32)
        else:
            types = np.asarray(types, dtype=np.int64)[:n]
            if len(types) < n or len(self.scores) < n:
                raise TokenizerError("tokenizer.ggml.scores/token_type shorter than the token list")
            self.attrs = _TYPE_TO_ATTR[np.clip(types, 0, 7)].copy()
        merges = md.get(_KEY + "merges")
        self.merges = list(merges) if merges is not None else None
        if self.model == "gpt2" and self.merges is None:
            raise TokenizerError("gpt2 tokenizer without tokenizer.ggml.merges")

    def _load_flags(self, md: dict) -> None:
        # per-type defaults (llama_vocab::impl::load), then overridden by the metadata
        if self.model == "llama":
            self.bos_id, self.eos_id, self.unk_id = 1, 2, 0
            self.add_space_prefix, self.add_bos, self.add_eos = True, True, False
            self.clean_spaces = False
        else:
            self.bos_id, self.eos_id, self.unk_id = 11, 11, -1
            self.add_space_prefix, self.add_bos, self.add_eos = False, False, False
            self.clean_spaces = True  # pretokenize.PRE may turn it off for this pre
        self.add_space_prefix = bool(md.get(_KEY + "add_space_prefix", self.add_space_prefix))
        self.remove_extra_whitespaces = bool(md.get(_KEY + "remove_extra_whitespaces", False))

    def _load_special_ids(self, md: dict) -> None:
        n = self.n_vocab
        self.eot_id = self.eom_id = self.sep_id = self.pad_id = -1
        self.fim = {"fim_pad": -1, "fim_rep": -1, "fim_sep": -1}
        keys = {"bos_id": "bos_token_id", "eos_id": "eos_token_id", "eot_id": "eot_token_id",
                "eom_id": "eom_token_id", "unk_id": "unknown_token_id",
                "sep_id": "seperator_token_id", "pad_id": "padding_token_id"}
        for attr, key in keys.items():
            if getattr(self, attr) >= n:  # default out of range -> disabled
                setattr(self, attr, -1)
            v = _token_id(md, _KEY + key)
            if v is not None and 0 <= v < n:
                setattr(self, attr, v)
        for name in self.fim:
            v = _token_id(md, f"{_KEY}{name}_token_id")
            if v is not None and 0 <= v < n:
                self.fim[name] = v
        add_bos = md.get(_KEY + "add_bos_token")
        add_eos = md.get(_KEY + "add_eos_token")
        # BPE pre-tokenizers may default add_bos to true (llama3, tekken, ...), so the final
        # value is settled by set_add_bos_default() once the pre-tokenizer is known.
        self._md_add_bos = None if add_bos is None else bool(add_bos)
        if add_eos is not None:
            self.add_eos = bool(add_eos)

    def set_add_bos_default(self, default: bool) -> None:
        self.add_bos = default if self._md_add_bos is None else self._md_add_bos

    def _detect_by_text(self) -> None:
        t2i = self.token_to_id

        def first(texts):
            for t in texts:
                if t in t2i:
                    return t2i[t]
            return -1

        def mark_control(i):
            self.attrs[i] |= ATTR_CONTROL

        if self.eot_id < 0:
            self.eot_id = first(_EOT_TEXTS)
            if self.eot_id >= 0:
                mark_control(self.eot_id)
        if self.eom_id < 0:
            self.eom_id = first(_EOM_TEXTS)
            if self.eom_id >= 0:
                mark_control(self.eom_id)
        for name, texts in _FIM_TEXTS.items():
            if self.fim[name] < 0:
                self.fim[name] = first(texts)
                if self.fim[name] >= 0:
                    mark_control(self.fim[name])
        # control tokens named "...unused..." are unused (affects nothing here but is_unused)
        eog = {i for i in self.fim.values() if i >= 0}
        for t in _EOG_TEXTS:
            i = t2i.get(t)
            if i is not None:
                eog.add(i)
                mark_control(i)
        for t in ("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"):  # gpt-oss
            if t in t2i:
                self.attrs[t2i[t]] = ATTR_USER_DEFINED
        for i in (self.eos_id, self.eot_id, self.eom_id):
            if i >= 0:
                eog.add(i)
        texts = {self.tokens[i]: i for i in eog}
        if "<|end|>" in texts and (("<|return|>" in texts and ("<|call|>" in texts or "<|calls|>" in texts))
                                   or (("<|call|>" in texts or "<|calls|>" in texts) and "<|flush|>" in texts)):
            eog.discard(texts["<|end|>"])
            self.attrs[texts["<|end|>"]] = ATTR_USER_DEFINED
        if "</s>" in texts and ("<|tool_response>" in texts or "<|plamo:eos|>" in texts):
            eog.discard(texts["</s>"])
            self.attrs[texts["</s>"]] = ATTR_NORMAL
        self.eog_ids = frozenset(eog)

    def _special_cache(self) -> list[tuple[str, int, int]]:
        """(text, id, attr) of every control/user-defined/unknown token, longest text first.

        llama.cpp sorts by UTF-8 byte length with an unstable sort; ties between equal-length
        tokens only matter when both occur overlapping in one text, which real vocabularies avoid.
        """
        mask = ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN
        ids = np.nonzero(self.attrs & mask)[0]
        items = [(self.tokens[i], int(i), int(self.attrs[i])) for i in ids]
        items.sort(key=lambda x: (-len(x[0].encode("utf-8")), x[1]))
        return items

    def byte_token(self, b: int) -> int:
        """Id of the token for one raw byte (SPM '<0xNN>' form, or the bare byte as fallback)."""
        i = self.token_to_id.get(f"<0x{b:02X}>")
        if i is None:
            i = self.token_to_id.get(chr(b)) if b < 128 else None
        if i is None:
            raise TokenizerError(f"vocabulary has no token for byte 0x{b:02X}")
        return i


def _token_id(md: dict, key: str) -> int | None:
    """A special token id from the metadata (None when absent); ids outside the vocabulary are
    the caller's to ignore, as llama.cpp does, but a value that is no integer is an error."""
    v = md.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TokenizerError(f"metadata key {key!r} = {v!r} is not a token id")
    return int(v)
