#!/usr/bin/env python3
"""How far llmrt's teacher-forced logits are from llama.cpp's recorded fixtures.

    python tools/parity_report.py                      # both real models
    python tools/parity_report.py smollm2-135m

Prints, per model, the top-20 logit error as a fraction of each row's logit range (mean, 95th
percentile, max) and the reference margins at positions where the argmax differs; these are
the quantities tests/test_llama_cpp_parity.py bounds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))


def report(alias: str) -> None:
    import llmrt

    llm = llmrt.LLM(alias, n_ctx=1024)
    ref = json.loads((ROOT / "tests" / "data" / f"reference_{alias}.json").read_text())
    errs, flips = [], []
    for prompt in ref["prompts"]:
        logits = llm.logits(prompt["tokens"])
        for i, pos in enumerate(prompt["positions"]):
            rng = pos["max"] - pos["min"]
            errs.append(np.max(np.abs(logits[i][pos["top_ids"]] - np.array(pos["top_logits"]))) / rng)
            if int(np.argmax(logits[i])) != pos["top_ids"][0]:
                flips.append(round(pos["margin"], 3))
    e = np.array(errs)
    print(f"{alias}: {e.size} positions, top-20 error mean {e.mean():.4f} p95 {np.percentile(e, 95):.4f} "
          f"max {e.max():.4f} of the logit range; argmax differs at reference margins {flips}")


if __name__ == "__main__":
    for alias in sys.argv[1:] or ["smollm2-135m", "gemma3-270m"]:
        report(alias)
