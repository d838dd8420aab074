"""Run llama.cpp's convert_hf_to_gguf.py on a tiny test checkpoint.

    python run_llama_cpp_converter.py PRE LLAMA_CPP_DIR MODEL_DIR --outfile OUT --outtype f32

The checkpoints' BPE tokenizers are trained on the spot, so llama.cpp's table of known
pre-tokenizer hashes cannot name them; PRE names the pre-tokenizer instead (llama-bpe, qwen2).
Everything else is llama.cpp's converter as it is."""

import runpy
import sys

pre, root = sys.argv[1], sys.argv[2]
sys.path[:0] = [root, root + "/gguf-py"]
import conversion.base as base  # noqa: E402  (llama.cpp's package, from root)

base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
sys.argv = [root + "/convert_hf_to_gguf.py", *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
