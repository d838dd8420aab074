"""Subprocess of test_fuzz_model_files.py: loads each model file named in the JSON list given as
argv[1] and prints one line per file, "<index>\t<outcome>", as soon as it is known, so that the
parent can tell which file a crash belongs to.

Outcomes: "ok" (loaded, finite logits, a short generation), "error <LLMRTError subclass>",
"foreign <exception type>: <message>" or "garbage: <why>".
"""

import json
import sys

import numpy as np

import llmrt


def outcome(path: str) -> str:
    try:
        llm = llmrt.LLM(path, n_ctx=32, n_threads=1, n_parallel=1, n_seq_max=2, device="cpu")
        logits = llm.logits([1, 2, 3])
        if logits.shape != (3, llm.n_vocab) or not np.isfinite(logits).all():
            return "garbage: logits not finite or of the wrong shape"
        text = llm.generate("Hi", max_tokens=3, temperature=0)
        if not isinstance(text, str):
            return f"garbage: generate returned {type(text).__name__}"
        return "ok"
    except llmrt.LLMRTError as e:
        return f"error {type(e).__name__}"
    except Exception as e:  # noqa: BLE001 (what the test looks for)
        return f"foreign {type(e).__name__}: {str(e)[:200]}".replace("\n", " ")


def main() -> None:
    for index, path in enumerate(json.loads(sys.argv[1])):
        print(f"{index}\t{outcome(path)}", flush=True)


if __name__ == "__main__":
    main()
