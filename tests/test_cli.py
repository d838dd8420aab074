"""The `llmrt` command and model resolution: run, chat over stdin, info, errors, hf: offline."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import llmrt
from llmrt import chat

DATA = Path(__file__).parent / "data"


def run_cli(*args, stdin=None, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "llmrt.cli", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.fixture(scope="module")
def smollm2(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=1024)


def test_chat_template_matches_llama_cpp_and_jinja(smollm2):
    import jinja2

    template = smollm2.metadata["tokenizer.chat_template"]
    compared = 0
    for case in json.loads((DATA / "chat_smollm2-135m.json").read_text())["cases"]:
        ours = smollm2.apply_chat_template(case["messages"])
        # llama.cpp's built-in engine recognises the template as ChatML and formats it itself, so
        # it skips the default system prompt this Jinja template inserts when none is given:
        # compare with it where the conversation brings its own system message.
        if case["messages"][0]["role"] == "system":
            assert ours == case["prompt"]
            compared += 1
        direct = jinja2.Environment().from_string(template).render(
            messages=case["messages"], add_generation_prompt=True, bos_token="<|im_start|>",
            eos_token="<|im_end|>")
        assert ours == direct
    assert compared >= 1


def test_second_chat_turn_prefills_only_the_new_turn(smollm2):
    from llmrt.generation import GenerationStats

    smollm2.reset()
    messages = [{"role": "user", "content": "What is 2+2?"}]
    first = GenerationStats()
    answer = smollm2.chat(messages, max_tokens=8, temperature=0, stats=first)
    assert first.prompt_tokens_cached == 0
    messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": "And 3+3?"}]
    second = GenerationStats()
    smollm2.chat(messages, max_tokens=4, temperature=0, stats=second)
    # everything up to the end of the first prompt (and usually the answer) came from the cache
    assert second.prompt_tokens_cached >= first.prompt_tokens
    assert second.prompt_tokens - second.prompt_tokens_cached < second.prompt_tokens // 2


def test_template_errors_are_typed():
    with pytest.raises(chat.ChatTemplateError):
        chat.render("{{ raise_exception('no system role') }}", [{"role": "user", "content": "x"}])
    with pytest.raises(chat.ChatTemplateError):
        chat.render("{% for %}", [{"role": "user", "content": "x"}])
    with pytest.raises(chat.ChatTemplateError):
        chat.render(None, [{"content": "no role"}])


def test_run_greedy_completion(smollm2_path):
    ref = json.loads((DATA / "reference_smollm2-135m.json").read_text())["prompts"][0]
    out = run_cli("run", str(smollm2_path), ref["prompt"], "-n", "3", "--temp", "0", "--stats")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(" Paris")  # llama.cpp's greedy continuation starts " Paris."
    assert "decode:" in out.stderr


def test_chat_over_stdin_with_clear(smollm2_path):
    out = run_cli("chat", str(smollm2_path), "-n", "6", "--temp", "0",
                  stdin="What is 2+2?\nAnd 3+3?\n/clear\nHi\n/exit\nnever read\n")
    assert out.returncode == 0, out.stderr
    assert len([line for line in out.stdout.splitlines() if line.strip()]) >= 3


@pytest.mark.parametrize("args, message", [
    (("run", "no-such-model", "hi"), "no model file or alias"),
    (("info", "README.md"), "not a GGUF file"),
    (("info", "tests"), "is a directory"),
])
def test_errors_are_one_line(args, message):
    out = run_cli(*args, env={"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_info_table(smollm2_path):
    out = run_cli("info", str(smollm2_path))
    assert out.returncode == 0
    assert "llama" in out.stdout and "Q4_1" in out.stdout and "49152" in out.stdout


def make_hf_cache(root: Path) -> Path:
    """A Hugging Face hub cache holding one GGUF of repo acme/tiny, as huggingface_hub lays it out."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = root / "models--acme--tiny"
    snap = repo / "snapshots" / revision
    snap.mkdir(parents=True)
    (snap / "tiny-Q4_K_M.gguf").write_bytes(b"GGUF" + bytes(60))
    (snap / "tiny-Q8_0.gguf").write_bytes(b"GGUF" + bytes(60))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snap


RESOLVE = "import sys, llmrt.models as m\ntry:\n print(m.resolve(sys.argv[1], filename=(sys.argv[2] or None)))\n" \
          "except llmrt.ModelNotFoundError as e:\n print('ERR', e)\n"


@pytest.mark.parametrize("spec, file, expect", [
    ("hf:acme/tiny/tiny-Q8_0.gguf", "", "tiny-Q8_0.gguf"),
    ("hf:acme/tiny:Q4_K_M", "", "tiny-Q4_K_M.gguf"),
    ("hf:acme/tiny", "q8_0", "tiny-Q8_0.gguf"),
    ("hf:acme/tiny", "", "ERR"),                 # two GGUFs: must choose
    ("hf:acme/absent/x.gguf", "", "ERR"),        # offline and not cached
])
def test_hf_resolution_offline(tmp_path, spec, file, expect):
    pytest.importorskip("huggingface_hub")
    snap = make_hf_cache(tmp_path)
    out = subprocess.run([sys.executable, "-c", "import llmrt\n" + RESOLVE, spec, file], capture_output=True,
                         text=True, env={**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    if expect == "ERR":
        assert out.stdout.startswith("ERR")
    else:
        assert Path(out.stdout.strip()).resolve() == (snap / expect).resolve()


def test_bench_command(smollm2_path):
    out = run_cli("bench", str(smollm2_path), "-p", "8", "-n", "2", "-r", "1")
    assert out.returncode == 0, out.stderr
    assert "prefill 8 tokens" in out.stdout and "decode  2 tokens" in out.stdout


def test_info_reports_kv_cache(smollm2_path):
    out = run_cli("info", str(smollm2_path))
    # SmolLM2: 30 layers x 3 KV heads x (64 + 64) dims x 2 bytes = 22.5 KiB per token
    assert "22.5 KiB/token" in out.stdout
