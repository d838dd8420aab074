"""The forward pass bit for bit: both real models' prefill logits and a run of greedy decode
steps, at every SIMD level this CPU has, against digests recorded by
tools/record_logits_fixture.py. A change to the native core that moves any logit by one ulp
fails here; if the change is meant to alter numerics, re-record the fixture and say why."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import record_logits_fixture as fixture  # noqa: E402


def test_logits_match_the_recorded_fixture(smollm2_path, gemma3_path):
    recorded = json.loads(fixture.FIXTURE.read_text())
    seen = fixture.record([str(smollm2_path), str(gemma3_path)])
    assert seen, "no SIMD level ran"
    for level, digests in seen.items():
        assert level in recorded, f"no fixture for level {level}"
        assert digests == recorded[level], f"logits changed at {level}"
