"""Run llama.cpp's convert_hf_to_gguf.py on tiny test checkpoints, several in one process.

    python run_llama_cpp_converter.py LLAMA_CPP_DIR JOBS.json

JOBS.json is a list of [PRE, MODEL_DIR, "--outfile", OUT, "--outtype", "f32", ...]: PRE, then
the converter's own command line. The checkpoints' BPE tokenizers are trained on the spot, so
llama.cpp's table of known pre-tokenizer hashes cannot name them; PRE names the pre-tokenizer
instead (llama-bpe, qwen2). Everything else is llama.cpp's converter as it is; one process runs
every job so that torch and the converter are imported once.
"""

import json
import runpy
import sys

root, jobs_file = sys.argv[1], sys.argv[2]
sys.path[:0] = [root, root + "/gguf-py"]
import conversion.base as base  # noqa: E402  (llama.cpp's package, from root)

script = root + "/convert_hf_to_gguf.py"
main = runpy.run_path(script, run_name="convert_hf_to_gguf")["main"]
with open(jobs_file) as f:
    jobs = json.load(f)
for pre, *args in jobs:
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer, pre=pre: pre
    sys.argv = [script, *args]
    main()
