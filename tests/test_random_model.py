"""`llmrt convert --random`: random-weight GGUF files of every architecture, checked with the
`gguf` package's reader and run by llmrt (tiny shapes only)."""

import gguf
import numpy as np
import pytest

import llmrt
from llmrt.arch import lookup, random_models, random_presets
from llmrt.cli import main as cli_main
from llmrt.convert import cli as convert_cli, mix, random_model as rm
from llmrt.convert.errors import ConvertError

T = gguf.GGMLQuantizationType
TINY = dict(hidden=256, layers=2, heads=4, kv_heads=2, ffn=256, vocab=512, context=128)
ARCHS = {  # --arch -> (extra shape overrides, GGUF architecture)
    "llama": ({}, "llama"),
    "mixtral": (dict(experts=4, experts_used=2), "llama"),
    "gemma3": ({}, "gemma3"),
    "qwen2": ({}, "qwen2"),
    "qwen3": (dict(head_dim=32), "qwen3"),   # key_length != hidden / heads
    "qwen2moe": (dict(experts=4, experts_used=2, shared_ffn=512), "qwen2moe"),
    "qwen3moe": (dict(experts=4, experts_used=2), "qwen3moe"),
    "gemma2": ({}, "gemma2"),
}
OUTTYPES = ("f32", "q8_0", "q4_k_m")


def _write(path, arch, outtype="f32", seed=0, threads=None, **over):
    return rm.write_random(path, None, arch, outtype, seed=seed, threads=threads, progress=False,
                           **{**TINY, **ARCHS[arch][0], **over})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    cache = {}

    def get(arch, outtype="f32", seed=0):
        if (arch, outtype, seed) not in cache:
            out = tmp_path_factory.mktemp("random") / f"{arch}-{outtype}-{seed}.gguf"
            cache[arch, outtype, seed] = _write(out, arch, outtype, seed)
        return cache[arch, outtype, seed]
    return get


def _field(reader, key):
    return reader.fields[key].contents()


@pytest.mark.parametrize("outtype", OUTTYPES)
@pytest.mark.parametrize("arch", ARCHS)
def test_tensors_and_metadata(arch, outtype, written):
    over, gguf_arch = ARCHS[arch]
    shape = {**TINY, **over}
    reader = gguf.GGUFReader(written(arch, outtype))
    assert _field(reader, "general.architecture") == gguf_arch
    for key, want in (("block_count", 2), ("embedding_length", 256), ("attention.head_count", 4),
                      ("attention.head_count_kv", 2), ("context_length", 128)):
        assert _field(reader, f"{gguf_arch}.{key}") == want, key
    assert _field(reader, f"{gguf_arch}.expert_count" if "experts" in over else "general.file_type") == \
        (over["experts"] if "experts" in over else int(mix.file_type(outtype)[0]))
    assert len(_field(reader, "tokenizer.ggml.tokens")) == 512
    assert _field(reader, "tokenizer.ggml.model") == ("llama" if arch in ("mixtral", "gemma3", "gemma2") else "gpt2")

    # the tensor set is the ArchSpec's required roles (output tied: no output.weight)
    tensors = {t.name: t for t in reader.tensors}
    spec = lookup(gguf_arch, {f"{gguf_arch}.expert_count": over.get("experts", 0)})
    spec.check_tensors(set(tensors), 2, over.get("experts", 0))
    n_layer_roles = len(spec.required_roles(over.get("experts", 0))) - 2   # token_embd, output_norm
    assert len(tensors) == 2 + 2 * n_layer_roles and "output.weight" not in tensors
    hd = shape.get("head_dim", 64)
    assert list(tensors["blk.1.attn_q.weight"].shape) == [256, 4 * hd]
    assert list(tensors["blk.0.attn_k.weight"].shape) == [256, 2 * hd]
    assert list(tensors["token_embd.weight"].shape) == [256, 512]
    if "experts" in over:
        assert list(tensors["blk.0.ffn_gate_exps.weight"].shape) == [256, 256, 4]
        assert list(tensors["blk.0.ffn_down_exps.weight"].shape) == [256, 256, 4]
    if arch == "qwen2moe":
        assert list(tensors["blk.0.ffn_gate_inp_shexp.weight"].shape) == [256]
        assert list(tensors["blk.0.ffn_up_shexp.weight"].shape) == [256, 512]

    # per-tensor types are the mix rules' choice
    want = mix.choose_types({n: (tuple(reversed(t.shape.tolist())), T.F32) for n, t in tensors.items()},
                            outtype, 2, 4, 2, over.get("experts", 0))
    assert {n: T(t.tensor_type) for n, t in tensors.items()} == {n: T(t) for n, t in want.items()}
    assert tensors["output_norm.weight"].tensor_type == T.F32
    q_type = {"f32": T.F32, "q8_0": T.Q8_0, "q4_k_m": T.Q4_K}[outtype]
    assert tensors["blk.0.attn_q.weight"].tensor_type == q_type


@pytest.mark.parametrize("outtype", ("f32", "q4_k_m"))
@pytest.mark.parametrize("arch", ARCHS)
def test_runs(arch, outtype, written):
    llm = llmrt.LLM(str(written(arch, outtype)), n_ctx=64, n_threads=2)
    ids = llm.tokenize("hello world", add_special=True)
    logits = llm.logits(ids)
    assert logits.shape == (len(ids), 512) and np.isfinite(logits).all()
    # not degenerate: logits spread out, and differ from position to position
    assert 0.3 < logits.std() < 5.0
    assert np.abs(logits[0] - logits[-1]).max() > 0.1
    out = llm.generate_tokens("hi", max_tokens=4, temperature=0)
    assert len(out.tokens) >= 1


@pytest.mark.parametrize("arch", ("llama", "qwen2moe"))
def test_seeded(arch, written, tmp_path):
    a = written(arch, "q8_0", seed=0)
    # the same seed gives the same bytes whatever the thread count
    again = _write(tmp_path / "again.gguf", arch, "q8_0", seed=0, threads=1)
    assert again.read_bytes() == a.read_bytes()
    ids = [5, 100, 300, 7]
    la = llmrt.LLM(str(a), n_ctx=32).logits(ids)
    lb = llmrt.LLM(str(written(arch, "q8_0", seed=1)), n_ctx=32).logits(ids)
    assert np.abs(la - lb).max() > 0.1


@pytest.mark.parametrize("arch", ("llama", "qwen2", "mixtral", "gemma3"))
def test_tokenizer_round_trip(arch, tmp_path):
    # a vocabulary big enough for merged words: text round-trips in fewer tokens than bytes
    path = _write(tmp_path / "tok.gguf", arch, vocab=4000, layers=1, hidden=64, heads=2, kv_heads=1,
                  ffn=64, **({"head_dim": 32} if arch == "qwen3" else {}))
    llm = llmrt.LLM(str(path), n_ctx=32)
    text = "hello world, the quick brown Fox 123!"
    ids = llm.tokenize(text, add_special=False)
    assert len(ids) < len(text.encode()) * 0.7
    assert llm.detokenize(ids).strip() == text
    assert llm.tokenize(text, add_special=True)[0] == llm.tokenizer.vocab.bos_id or arch == "qwen2"


# Parameter counts of the published models each preset copies (tied embeddings counted once).
PRESET_PARAMS = {"smollm2-135m": 134_515_008, "1b": 1_235_814_400, "3b": 3_212_749_824,
                 "8b": 8_030_261_248, "gemma3-270m": 268_098_176, "qwen3-0.6b": 596_049_920,
                 "qwen3-30b-a3b": 30_532_122_624}


@pytest.mark.parametrize("preset", random_presets())
def test_preset_shapes(preset):
    shape, arch = rm.resolve(preset)
    tensors = rm.plan_tensors(shape, arch, rm.hf_config_of(shape, arch))
    n = sum(int(np.prod(s)) for _, s in tensors)
    assert n == PRESET_PARAMS.get(preset, n)


def test_cli_tables_agree():
    assert set(convert_cli.RANDOM_SHAPE_ARGS) <= set(rm.OVERRIDES)
    assert {t.upper() for t in convert_cli.RANDOM_OUTTYPES} <= set(mix.FILE_TYPES)
    # every architecture the registry offers --random for is exercised above
    assert set(random_models()) == set(ARCHS)


def test_cli(tmp_path):
    out = tmp_path / "cli.gguf"
    args = ["convert", "--random", "--arch", "qwen3", "--hidden", "64", "--layers", "1", "--heads", "2",
            "--kv-heads", "1", "--ffn", "128", "--vocab", "300", "--outtype", "q4_0", "--seed", "3",
            "--no-tie-embeddings", "-o", str(out), "-q"]
    assert cli_main(args) == 0
    reader = gguf.GGUFReader(out)
    assert _field(reader, "general.architecture") == "qwen3"
    assert reader.fields["qwen3.attention.key_length"].contents() == 32
    output = next(t for t in reader.tensors if t.name == "output.weight")
    assert list(output.shape) == [64, 300] and output.tensor_type == T.Q8_0   # Q6_K rows need 256
    assert np.isfinite(llmrt.LLM(str(out), n_ctx=16).logits([1, 2, 3])).all()


@pytest.mark.parametrize("kwargs,message", [
    (dict(preset="nope"), "unknown --random preset 'nope'"),
    (dict(preset="1b", arch="gpt9"), "unknown --arch 'gpt9'"),
    (dict(preset="1b", arch="qwen3moe"), "needs --experts"),
    (dict(preset="moe-small", arch="qwen2"), "dense architecture"),
    (dict(preset=None, hidden=64), "needs --layers"),
    (dict(preset="1b", heads=5), "not a multiple of --kv-heads"),
    (dict(preset="1b", vocab=100), "too small"),
    (dict(preset="gemma3-270m", tied=False), "ties its output head"),
    (dict(preset="1b", outtype="q9_9"), "unknown quantization type"),
])
def test_errors(kwargs, message, tmp_path):
    kwargs = {"outtype": "f32", **kwargs}
    with pytest.raises(ConvertError, match=message) as e:
        rm.write_random(tmp_path / "x.gguf", kwargs.pop("preset"), kwargs.pop("arch", None),
                        kwargs.pop("outtype"), progress=False, **kwargs)
    assert isinstance(e.value, llmrt.LLMRTError)
    assert not list(tmp_path.iterdir())   # nothing left behind


def test_cli_errors(tmp_path, capsys):
    assert cli_main(["convert", "--random", "nope", "-o", str(tmp_path / "x.gguf")]) == 1
    assert "unknown --random preset 'nope'" in capsys.readouterr().err
    assert cli_main(["convert", "--random", "1b", "--arch", "gpt9", "-o", str(tmp_path / "x.gguf")]) == 1
    assert "unknown --arch 'gpt9'" in capsys.readouterr().err
    assert cli_main(["convert", "-o", str(tmp_path / "x.gguf")]) == 1
