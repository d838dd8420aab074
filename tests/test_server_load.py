"""64 concurrent streaming clients against one `llmrt serve`: every stream completes, intact,
and equals the same request run alone up to the batch-shape noise of the logits (a stream may
leave the lone run's tokens only where that run's top two candidates were nearly tied)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from server_process import ServerProcess  # noqa: E402

N_CLIENTS = 64
MAX_TOKENS = 32
# Logits move by ~1e-3 with the batch shape; a divergence is only excused at a near-tie.
TIE_MARGIN = 0.25

SUBJECTS = ["a lighthouse", "a lost key", "the moon", "a red bicycle", "an old map", "a quiet library",
            "a mountain goat", "a broken clock"]
FORMS = ["Write one sentence about", "Describe", "Tell a joke about", "Give two facts about",
         "Write a haiku about", "Explain to a child", "List three words for", "Start a story about"]
PROMPTS = [f"{form} {subject}." for form in FORMS for subject in SUBJECTS]


async def _stream(client, prompt: str) -> tuple[list[str], list[float], str]:
    """(tokens, margins between the top two candidates, finish reason) of one streamed reply."""
    tokens, margins, finish = [], [], None
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": prompt}], max_tokens=MAX_TOKENS, temperature=0,
        logprobs=True, top_logprobs=2, stream=True)
    async for chunk in stream:
        c = chunk.choices[0]
        if c.logprobs and c.logprobs.content:
            for t in c.logprobs.content:
                tokens.append(t.token)
                top = [x.logprob for x in t.top_logprobs]
                margins.append(top[0] - top[1] if len(top) > 1 else float("inf"))
        if c.finish_reason:
            finish = c.finish_reason
    return tokens, margins, finish


async def _run(base: str, prompts: list[str], concurrent: bool):
    client = openai.AsyncOpenAI(base_url=base + "/v1", api_key="none", max_retries=0, timeout=600)
    try:
        if concurrent:
            return await asyncio.gather(*[_stream(client, p) for p in prompts])
        return [await _stream(client, p) for p in prompts]
    finally:
        await client.close()


def test_64_concurrent_streams_match_lone_runs(smollm2_path):
    assert len(set(PROMPTS)) == N_CLIENTS
    args = ("-c", "8192", "-np", "16", "-t", "2")
    srv = ServerProcess(str(smollm2_path), *args)
    try:
        together = asyncio.run(_run(srv.base, PROMPTS, concurrent=True))
        m = srv.metrics()
    finally:
        srv.stop()
    assert m["llmrt_requests_active"] == 0 and m["llmrt_kv_cells_used"] == 0
    srv = ServerProcess(str(smollm2_path), *args)
    try:
        alone = asyncio.run(_run(srv.base, PROMPTS, concurrent=False))
    finally:
        srv.stop()

    differing = []
    for prompt, (toks, _, finish), (ref, ref_margins, ref_finish) in zip(PROMPTS, together, alone):
        assert finish in ("stop", "length") and ref_finish in ("stop", "length")
        assert toks and len(toks) <= MAX_TOKENS
        if toks == ref:
            continue
        i = next((k for k, (a, b) in enumerate(zip(toks, ref)) if a != b), min(len(toks), len(ref)))
        differing.append((prompt, i, ref_margins[i] if i < len(ref_margins) else 0.0))
    print(f"\n{N_CLIENTS} concurrent streams: {len(differing)} differ from their lone runs; "
          f"first differing token and the lone run's top-2 margin there: {differing}")
    for prompt, i, margin in differing:
        assert margin < TIE_MARGIN, f"{prompt!r} left the lone run's tokens at token {i} with margin {margin}"
