"""A toy architecture, complete in this one file: the llama block registered under another
name, keeping Hugging Face's rotate-half Q/K layout (NEOX RoPE, no permutation at conversion)
where llama permutes to interleaved pairs. It computes what transformers' Llama computes, so a
converted checkpoint can be checked against it. Importing the file registers it; nothing else in
llmrt names it."""

from llmrt.arch import register
from llmrt.arch.base import ACT_SILU, LLAMA_HF_NAMES, ROPE_NEOX, ArchSpec
from llmrt.arch.conversion import HFConversion, RandomModel
from llmrt.arch.hf_metadata import llama_metadata
from llmrt.arch.shape import Shape

TOY = register(ArchSpec(
    name="toyllama",
    rope_mode=ROPE_NEOX,
    activation=ACT_SILU,
    hf_names=LLAMA_HF_NAMES,
    convert=HFConversion(("ToyLlamaForCausalLM",), llama_metadata),
    random=RandomModel("toyllama", "llama", presets={
        "toy-tiny": Shape("toyllama", hidden=64, layers=2, heads=4, kv_heads=2, ffn=128, vocab=512,
                          context=256)}),
))
