"""Samplers: hand-derived tables, llama.cpp's own outputs (tests/data/sampling_reference.json,
recorded by tools/make_sampling_reference.py), determinism, the draw's distribution, errors."""

import json
import math
import pathlib

import numpy as np
import pytest

from llmrt.errors import LLMRTError, SamplingError
from llmrt.sampling import (DEFAULT_SAMPLERS, DRY, XTC, Candidates, Dist, Greedy, LogitBias, MinP,
                            Mirostat, MirostatV2, Penalties, SamplerChain, SamplingParams,
                            Temperature, TopK, TopNSigma, TopP, Typical, build_chain,
                            sequence_breakers_from_strings, sequence_breakers_from_tokens,
                            top_k_indices, top_logprobs)

REF = json.loads((pathlib.Path(__file__).parent / "data" / "sampling_reference.json").read_text())

P4 = [0.1, 0.2, 0.3, 0.4]  # llama.cpp test-sampling's usual input: token i has probability P4[i]


def logits_of(probs):
    return np.log(np.asarray(probs, dtype=np.float32))


def run(sampler, logits, history=()):
    c = Candidates.from_logits(np.asarray(logits, dtype=np.float32))
    for t in history:
        sampler.accept(t)
    sampler.apply(c)
    return c


def survivors(c):
    """{token id: renormalised probability} of a candidate set."""
    p = c.logits.astype(np.float64)
    p = np.exp(p - p.max())
    p /= p.sum()
    return dict(zip(c.token_ids().tolist(), p.tolist()))


def assert_survivors(c, expected):
    got = survivors(c)
    assert sorted(got) == sorted(expected), (got, expected)
    for t, p in expected.items():
        assert got[t] == pytest.approx(p, rel=1e-5, abs=1e-7), (t, got, expected)


# ---------------------------------------------------------------- hand-derived tables
# Each row: sampler, input probabilities (logits = log p), expected {id: renormalised p}.
# The derivation is in the comment of each row.
DERIVED = [
    # top-k keeps the k most likely, renormalised
    ("top_k=1", TopK(1), P4, {3: 1.0}),
    ("top_k=3", TopK(3), P4, {3: .4 / .9, 2: .3 / .9, 1: .2 / .9}),
    ("top_k=4", TopK(4), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    ("top_k>n", TopK(9), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    ("top_k=0 disabled", TopK(0), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    ("top_k=-1 disabled", TopK(-1), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    # top-p: sorted running sum .4, .7, .9, 1.0; keep up to the first sum >= p
    ("top_p=0", TopP(0.0), P4, {3: 1.0}),
    ("top_p=.35", TopP(0.35), P4, {3: 1.0}),
    ("top_p=.65", TopP(0.65), P4, {3: 4 / 7, 2: 3 / 7}),
    ("top_p=.75", TopP(0.75), P4, {3: .4 / .9, 2: .3 / .9, 1: .2 / .9}),
    ("top_p=1 disabled", TopP(1.0), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    ("top_p min_keep=3", TopP(0.35, min_keep=3), P4, {3: .4 / .9, 2: .3 / .9, 1: .2 / .9}),
    # min-p: keep p >= min_p * p_max, p_max = .4
    ("min_p=.26 (bound .104)", MinP(0.26), P4, {1: .2 / .9, 2: .3 / .9, 3: .4 / .9}),
    ("min_p=.74 (bound .296)", MinP(0.74), P4, {2: 3 / 7, 3: 4 / 7}),
    ("min_p=.76 (bound .304)", MinP(0.76), P4, {3: 1.0}),
    ("min_p=0 disabled", MinP(0.0), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    ("min_p min_keep=2", MinP(0.76, min_keep=2), P4, {2: 3 / 7, 3: 4 / 7}),
    ("min_p min_keep>n", MinP(0.76, min_keep=9), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    # typical: H = -sum p ln p; order by |-ln p - H|, keep until the running sum exceeds p.
    # [.97,.01,.01,.01]: H = .1677; scores .137 (token 0) and 4.44; .97 > .5 at once
    ("typical peaked", Typical(0.5), [.97, .01, .01, .01], {0: 1.0}),
    # [.4,.2,.2,.2]: H = 1.3322; scores .416 (token 0) and .277 (the .2s); sums .2, .4, .6 > .5
    ("typical flat", Typical(0.5), [.4, .2, .2, .2], {1: 1 / 3, 2: 1 / 3, 3: 1 / 3}),
    ("typical=1 disabled", Typical(1.0), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    # temperature T: p_i ∝ p_i ** (1/T); T = .5 squares them: .01, .04, .09, .16 over .30
    ("temp=.5", Temperature(0.5), P4, {0: .01 / .3, 1: .04 / .3, 2: .09 / .3, 3: .16 / .3}),
    ("temp=1", Temperature(1.0), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    # XTC with probability 1 on [.4,.3,.2,.1,.0001]: tokens with p >= threshold are "top
    # choices"; all but the least likely of them go, if at least two qualify
    ("xtc t=.19", XTC(1.0, 0.19, seed=1), [.4, .3, .2, .1, .0001], {2: .2 / .3001, 3: .1 / .3001, 4: .0001 / .3001}),
    ("xtc t=.35 one top choice", XTC(1.0, 0.35, seed=1), [.4, .3, .2, .1, .0001],
     {0: .4 / 1.0001, 1: .3 / 1.0001, 2: .2 / 1.0001, 3: .1 / 1.0001, 4: .0001 / 1.0001}),
    ("xtc p=0 disabled", XTC(0.0, 0.1, seed=1), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
    ("xtc t>.5 disabled", XTC(1.0, 0.6, seed=1), P4, {0: .1, 1: .2, 2: .3, 3: .4}),
]


@pytest.mark.parametrize("name,sampler,probs,expected", DERIVED, ids=[r[0] for r in DERIVED])
def test_derived(name, sampler, probs, expected):
    assert_survivors(run(sampler, logits_of(probs)), expected)


def test_dynamic_temperature_derived():
    # H(P4) = 1.27985, H_max = ln 4; T = (1 - .5) + ((1 + .5) - (1 - .5)) * H / H_max
    h = -sum(p * math.log(p) for p in P4)
    t = 0.5 + 1.0 * (h / math.log(4)) ** 1.0
    expected = np.array(P4) ** (1 / t)
    c = run(Temperature(1.0, dynatemp_range=0.5, dynatemp_exponent=1.0), logits_of(P4))
    assert_survivors(c, dict(enumerate((expected / expected.sum()).tolist())))
    assert c.sorted


def test_temperature_zero_keeps_the_first_max():
    c = run(Temperature(0.0), [1.0, 2.0, 2.0, 0.5])
    assert c.logits[1] == 2.0 and np.isneginf(np.delete(c.logits, 1)).all()


def test_top_n_sigma_derived():
    # logits 1..6: mean 3.5, std sqrt(35/12) = 1.708; bound 6 - 1.708 = 4.29 keeps 5 and 6
    c = run(TopNSigma(1.0), [1, 2, 3, 4, 5, 6])
    finite = {int(i) for i, v in zip(c.token_ids(), c.logits) if np.isfinite(v)}
    assert finite == {4, 5}
    assert c.probs is not None and c.probs[np.isfinite(c.logits)].sum() == pytest.approx(1.0)


PENALTY_LOGITS = [1.0, -0.5, 2.0, 0.0, 1.5, -2.0]
PENALTY_HISTORY = [1, 2, 2, 3, 3, 3, 0]  # counts: 0:1, 1:1, 2:2, 3:3


@pytest.mark.parametrize("sampler,expected", [
    # repeat 1.5: positive logits divided, non-positive multiplied; tokens 4, 5 unseen
    (Penalties(64, 1.5, 0.0, 0.0), [1 / 1.5, -0.75, 2 / 1.5, 0.0, 1.5, -2.0]),
    # freq .25 per occurrence + presence .5 once
    (Penalties(64, 1.0, 0.25, 0.5), [1 - .75, -.5 - .75, 2 - 1.0, 0 - 1.25, 1.5, -2.0]),
    # last_n 3 sees only [3, 3, 0]: token 0 once, token 3 twice
    (Penalties(3, 1.3, 0.1, 0.2), [1 / 1.3 - .3, -0.5, 2.0, 0 - .4, 1.5, -2.0]),
    (Penalties(0, 1.3, 0.1, 0.2), PENALTY_LOGITS),
])
def test_penalties_derived(sampler, expected):
    c = run(sampler, PENALTY_LOGITS, PENALTY_HISTORY)
    np.testing.assert_allclose(c.logits, expected, rtol=1e-6, atol=1e-7)


def test_penalties_do_not_touch_callers_logits_and_work_on_subsets():
    logits = np.array(PENALTY_LOGITS, dtype=np.float32)
    before = logits.copy()
    pen = Penalties(64, 2.0)
    for t in PENALTY_HISTORY:
        pen.accept(t)
    c = Candidates.from_logits(logits)
    TopK(3).apply(c)          # ids 2, 4, 0
    pen.apply(c)
    assert dict(zip(c.token_ids().tolist(), c.logits.tolist())) == {2: 1.0, 4: 1.5, 0: 0.5}
    np.testing.assert_array_equal(logits, before)


def test_dry_derived():
    # history 0 1 2 3 4 0 1 2 3 5 0 1 2: the suffix "0 1 2" (length 3) occurred before, each
    # time followed by 3, so 3 is penalised by 0.8 * 1.75 ** (3 - 2) = 1.4
    c = run(DRY(0.8, 1.75, 2, 64), [0.0] * 8, [0, 1, 2, 3, 4, 0, 1, 2, 3, 5, 0, 1, 2])
    np.testing.assert_allclose(c.logits, [0, 0, 0, -1.4, 0, 0, 0, 0], atol=1e-6)


def test_dry_sequence_breaker_stops_the_repetition():
    hist = [0, 1, 2, 3, 4, 0, 1, 2, 3, 5, 0, 1, 2]
    # 1 is a breaker: a repetition cannot reach back over it, only "2" (length 1) remains,
    # which is below allowed_length 2: no penalty
    c = run(DRY(0.8, 1.75, 2, 64, sequence_breakers_from_tokens([[1]])), [0.0] * 8, hist)
    np.testing.assert_array_equal(c.logits, 0.0)
    # a one-token breaker is itself never penalised: "1 2 1 2 1" would make 2 cost 2 * 3 ** 3
    c = run(DRY(2.0, 3.0, 2, 64, sequence_breakers_from_tokens([[2]])), [1.0] * 4, [1, 2, 1, 2, 1, 2, 1])
    np.testing.assert_array_equal(c.logits, 1.0)


def test_dry_breakers_from_strings():
    vocab = ["a", "b:", ":", "c", "x\n", "\"q"]
    table = sequence_breakers_from_strings(["\n", ":"], len(vocab), vocab.__getitem__,
                                           lambda s: [vocab.index(ch) for ch in s if ch in vocab])
    assert table == {1: [()], 2: [()], 4: [()]}


def test_logit_bias_and_ban():
    c = run(LogitBias(4, {1: 2.5, 3: -np.inf}), logits_of(P4))
    assert c.logits[1] == pytest.approx(np.log(.2) + 2.5) and np.isneginf(c.logits[3])
    # repeated entries add up
    c = run(LogitBias(4, [(2, 1.0), (2, 0.5)]), [0.0] * 4)
    assert c.logits[2] == 1.5


def test_greedy_first_of_ties():
    c = run(Greedy(), [1.0, 2.0, 2.0, 0.5])
    assert c.selected == 1


def test_mirostat_v2_low_tau_keeps_top_and_updates_mu():
    # tau .1 -> mu .2: every token's surprise -log2 p exceeds it, so only the top one stays;
    # renormalised it has p = 1, surprise 0, and mu moves by -eta * (0 - tau)
    m = MirostatV2(seed=1, tau=0.1, eta=0.5)
    c = run(m, logits_of(P4))
    assert c.token(c.selected) == 3 and c.size == 1
    assert m.mu == pytest.approx(0.2 + 0.5 * 0.1)
    m.reset()
    assert m.mu == pytest.approx(0.2)


def test_mirostat_v1_peaked_low_tau_picks_top():
    m = Mirostat(n_vocab=5, seed=1, tau=0.01, eta=0.1, m=100)
    c = run(m, logits_of([.9, .05, .03, .01, .01]))
    assert c.token(c.selected) == 0


# ---------------------------------------------------------------- llama.cpp's own outputs

def ours(kind, a, n):
    return {
        "top_k": lambda: TopK(a["k"]),
        "top_p": lambda: TopP(a["p"], a.get("min_keep", 0)),
        "min_p": lambda: MinP(a["p"], a.get("min_keep", 0)),
        "typical": lambda: Typical(a["p"], a.get("min_keep", 0)),
        "temp": lambda: Temperature(a["temp"], a.get("delta", 0.0), a.get("exponent", 1.0)),
        "top_n_sigma": lambda: TopNSigma(a["n"]),
        "xtc": lambda: XTC(a["probability"], a["threshold"], a.get("min_keep", 0), seed=1),
        "penalties": lambda: Penalties(a["last_n"], a["repeat"], a["freq"], a["present"]),
        "dry": lambda: DRY(a["multiplier"], a["base"], a["allowed_length"], a["last_n"]),
        "logit_bias": lambda: LogitBias(n, [tuple(x) for x in a["bias"]]),
        "greedy": lambda: Greedy(),
    }[kind]()


@pytest.mark.parametrize("case", REF["cases"], ids=[f"{c['kind']}{c['args']}" for c in REF["cases"]])
def test_matches_llama_cpp(case):
    c = run(ours(case["kind"], case["args"], len(case["logits"])), case["logits"], case["history"])
    exp = case["expect"]
    if case["kind"] == "greedy":
        assert c.selected == exp["selected"]
        return
    expected = {i: (-np.inf if v is None else v) for i, v in zip(exp["ids"], exp["logits"])}
    got = dict(zip(c.token_ids().tolist(), c.logits.tolist()))
    assert sorted(got) == sorted(expected)
    for t, v in expected.items():
        assert got[t] == pytest.approx(v, rel=2e-6, abs=1e-6), t
    if exp["sorted"]:
        assert c.sorted and (np.diff(c.logits) <= 0).all()


def big(n, seed):
    return (np.random.default_rng(seed).standard_normal(n) * 3.0).astype(np.float32)


@pytest.mark.parametrize("case", REF["large"], ids=[f"{c['kind']}{c['args']}n{c['n']}" for c in REF["large"]])
def test_large_matches_llama_cpp(case):
    logits = big(case["n"], case["seed"])
    assert logits[:4].tolist() == pytest.approx(case["head"])  # the generator still gives the same data
    c = run(ours(case["kind"], case["args"], case["n"]), logits)
    assert sorted(c.token_ids().tolist()) == sorted(case["expect_ids"])
    if case["kind"] in ("top_k", "top_p"):  # distinct random values: the order is defined too
        assert c.token_ids().tolist() == case["expect_ids"]


# ---------------------------------------------------------------- kernels

@pytest.mark.parametrize("n,k", [(10, 3), (20000, 40), (262144, 40), (262144, 1), (100003, 17), (300000, 5000)])
def test_top_k_indices_matches_a_full_sort(n, k):
    x = big(n, n + k)
    x[::97] = x.max()  # ties at the top
    expect = np.argsort(-x, kind="stable")[:k]
    np.testing.assert_array_equal(top_k_indices(x, k), expect)


def test_allowed_mask_restricts_the_draw():
    logits = logits_of(P4)
    chain = build_chain(SamplingParams(seed=3, top_k=0, top_p=1.0, min_p=0.0), 4)
    mask = np.array([True, True, False, False])
    toks = {chain.sample(logits, allowed_mask=mask) for _ in range(50)}
    assert toks == {0, 1}
    with pytest.raises(SamplingError):
        chain.sample(logits, allowed_mask=np.zeros(4, bool))


# ---------------------------------------------------------------- chain, params, determinism

def test_defaults_are_llama_cpps():
    p = SamplingParams()
    assert (p.temp, p.top_k, p.top_p, p.min_p, p.typ_p, p.penalty_repeat, p.penalty_last_n) == \
        (0.8, 40, 0.95, 0.05, 1.0, 1.0, 64)
    assert (p.dry_multiplier, p.xtc_probability, p.mirostat, p.top_n_sigma) == (0.0, 0.0, 0, -1.0)
    assert DEFAULT_SAMPLERS == ("penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p",
                                "min_p", "xtc", "temperature")
    names = [s.name for s in build_chain(p, 10).samplers]
    assert names == ["penalties", "dry", "top-n-sigma", "top-k", "typical", "top-p", "min-p",
                     "xtc", "temp-ext", "dist"]


def test_chain_variants():
    assert [s.name for s in build_chain(SamplingParams(mirostat=2), 10).samplers] == ["temp-ext", "mirostat-v2"]
    assert [s.name for s in build_chain(SamplingParams(mirostat=1), 10).samplers] == ["temp-ext", "mirostat"]
    assert [s.name for s in build_chain(SamplingParams(samplers="kt"), 10).samplers] == ["top-k", "temp-ext", "dist"]
    assert [s.name for s in build_chain(SamplingParams(samplers="temp"), 10).samplers] == ["temp-ext", "dist"]
    assert [s.name for s in build_chain(SamplingParams(samplers="min_p;top_k"), 10).samplers] == ["min-p", "top-k", "dist"]
    ch = build_chain(SamplingParams(ignore_eos=True, logit_bias={1: 1.0}), 10, eog_tokens=[2])
    assert ch.samplers[0].name == "logit-bias"


def test_from_kwargs_aliases():
    p = SamplingParams.from_kwargs(temperature=0.3, repeat_penalty=1.1, typical_p=0.9,
                                   frequency_penalty=0.2, presence_penalty=0.1, mirostat_mode=2)
    assert (p.temp, p.penalty_repeat, p.typ_p, p.penalty_freq, p.penalty_present, p.mirostat) == \
        (0.3, 1.1, 0.9, 0.2, 0.1, 2)
    with pytest.raises(SamplingError):
        SamplingParams.from_kwargs(tempreature=0.3)


def _sequence(seed, n=40, **kw):
    rng = np.random.default_rng(0)
    chain = build_chain(SamplingParams(seed=seed, **kw), 1000)
    out = []
    for _ in range(n):
        t = chain.sample((rng.standard_normal(1000) * 2).astype(np.float32))
        chain.accept(t)
        out.append(t)
    return out


def test_same_seed_same_tokens_different_seed_differs():
    assert _sequence(1) == _sequence(1)
    assert _sequence(1) != _sequence(2)
    xtc = dict(xtc_probability=0.5, xtc_threshold=0.05, penalty_repeat=1.3, top_k=0, min_p=0.0)
    assert _sequence(7, **xtc) == _sequence(7, **xtc)
    assert _sequence(7, mirostat=2) == _sequence(7, mirostat=2)


def test_temperature_zero_is_greedy():
    rng = np.random.default_rng(5)
    chain = build_chain(SamplingParams(temp=0.0, seed=9), 500)
    for _ in range(20):
        x = rng.standard_normal(500).astype(np.float32)
        assert chain.sample(x) == int(np.argmax(x))


def test_clone_continues_identically_and_reset_restarts():
    rng = np.random.default_rng(1)
    xs = [(rng.standard_normal(300) * 2).astype(np.float32) for _ in range(30)]
    a = build_chain(SamplingParams(seed=4, penalty_repeat=1.5, dry_multiplier=0.5), 300, n_ctx_train=128)
    first = []
    for x in xs[:10]:
        first.append(a.sample(x))
        a.accept(first[-1])
    b = a.clone()
    rest_a, rest_b = [], []
    for x in xs[10:]:
        rest_a.append(a.sample(x))
        a.accept(rest_a[-1])
        rest_b.append(b.sample(x))
        b.accept(rest_b[-1])
    assert rest_a == rest_b
    a.reset()
    again = []
    for x in xs[:10]:
        again.append(a.sample(x))
        a.accept(again[-1])
    assert again == first


def test_dist_matches_the_distribution_chi_squared():
    probs = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    d = Dist(seed=123)
    n = 20000
    counts = np.zeros(5)
    logits = np.log(probs).astype(np.float32)
    for _ in range(n):
        counts[run(d, logits).selected] += 1
    chi2 = ((counts - n * probs) ** 2 / (n * probs)).sum()
    assert chi2 < 18.47  # chi-squared, 4 degrees of freedom, p = 0.001


def test_top_logprobs():
    x = logits_of(P4)
    ids, lp, tok = top_logprobs(x, 2, token=0)
    assert ids.tolist() == [3, 2]
    np.testing.assert_allclose(lp, np.log([.4, .3]), rtol=1e-5)
    assert tok == pytest.approx(math.log(.1), rel=1e-5)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs", [
    dict(temp=-0.5), dict(top_k=-2), dict(top_p=1.5), dict(top_p=-0.1), dict(min_p=2.0),
    dict(typ_p=-1.0), dict(xtc_probability=1.5), dict(penalty_repeat=0.0), dict(penalty_last_n=-2),
    dict(mirostat=3), dict(dry_multiplier=-1.0), dict(min_keep=-1), dict(top_p=float("nan")),
    dict(temp=float("inf")), dict(samplers=["top_k", "bogus"]), dict(seed=-5),
])
def test_impossible_parameters_raise(kwargs):
    with pytest.raises(SamplingError):
        build_chain(SamplingParams(**kwargs), 10)
    assert issubclass(SamplingError, LLMRTError)


def test_bad_inputs_raise():
    with pytest.raises(SamplingError):
        LogitBias(4, {7: 1.0})
    with pytest.raises(SamplingError):
        build_chain(SamplingParams(), 10).sample(np.zeros((2, 5), np.float32))
    with pytest.raises(SamplingError):
        SamplerChain([TopK(2)]).sample(np.zeros(5, np.float32))
    banned = build_chain(SamplingParams(seed=1, ignore_eos=True), 3, eog_tokens=[0, 1, 2])
    with pytest.raises(SamplingError):
        banned.sample(np.zeros(3, np.float32))
    with pytest.raises(SamplingError):
        build_chain(SamplingParams(seed=1), 3).sample(np.array([0, np.nan, 1], np.float32))


def test_ignore_eos_bans_end_of_generation():
    chain = build_chain(SamplingParams(seed=1, temp=0.0, ignore_eos=True), 4, eog_tokens=[3])
    assert chain.sample(logits_of(P4)) == 2


@pytest.mark.parametrize("params", [
    dict(temp=0.0),
    dict(temp=0.0, penalty_repeat=1.3, penalty_present=0.5, top_k=5, top_p=0.5, min_p=0.2),
    dict(temp=0.0, logit_bias={3: 5.0, 7: -np.inf}, dry_multiplier=0.8, top_n_sigma=1.0),
    dict(temp=0.0, logit_bias={3: 2.0, 7: -np.inf, 9: np.inf}),     # the bias alone: no copy
    dict(temp=0.0, logit_bias={5: 1.5}, penalty_repeat=1.2),         # bias + penalties once seen
])
def test_temperature_zero_shortcut_equals_the_full_chain(params):
    """A temperature-0 chain takes the argmax after the logit-changing samplers; the full chain
    (every sampler, then the draw) must pick the same token, with history-dependent samplers."""
    rng = np.random.default_rng(5)
    fast = build_chain(SamplingParams(seed=1, **params), n_vocab=64)
    full = fast.clone()
    full.greedy = False
    assert fast.greedy
    for _ in range(40):
        logits = (rng.standard_normal(64) * 3).astype(np.float32)
        a, b = fast.sample(logits), full.sample(logits)
        assert a == b
        fast.accept(a)
        full.accept(b)


def test_logit_bias_argmax_without_a_copy_equals_apply_then_argmax():
    """LogitBias.argmax (the temperature-0 chain's shortcut when the bias is its only
    logit-changing sampler) reads the logits in place; it must pick what applying the bias and
    taking the first maximum picks, ties and infinities included, and leave the logits alone."""
    from llmrt.sampling.base import Candidates
    from llmrt.sampling.logit_bias import LogitBias

    rng = np.random.default_rng(11)
    checked = 0
    for trial in range(600):
        logits = rng.integers(-3, 4, size=32).astype(np.float32)       # many ties
        tokens = rng.choice(32, size=int(rng.integers(1, 5)), replace=False)
        biases = rng.choice([-np.inf, np.inf, -1.0, 0.0, 1.0, 2.0], size=tokens.size)
        if trial >= 400:  # bans only (ignore_eos): the set-lookup shortcut
            biases[:] = -np.inf
        lb = LogitBias(32, list(zip(tokens.tolist(), biases.tolist())))
        before = logits.copy()
        pick = lb.argmax(Candidates.from_logits(logits))
        np.testing.assert_array_equal(logits, before)
        cands = Candidates.from_logits(logits)
        lb.apply(cands)
        want = int(np.argmax(cands.logits))
        if pick is not None:
            assert pick == want, (trial, logits, tokens, biases)
            checked += 1
    assert checked > 450


def test_ignore_eos_greedy_chain_skips_the_copy_but_not_the_ban():
    chain = build_chain(SamplingParams(seed=1, temp=0.0, ignore_eos=True), 4, eog_tokens=[3])
    logits = np.array([0.0, 1.0, 2.0, 5.0], np.float32)       # the banned token is the maximum
    assert chain.sample(logits) == 2
    assert chain.sample(np.array([0.0, 3.0, 2.0, 1.0], np.float32)) == 1


@pytest.mark.parametrize("params", [dict(temp=0.5), dict(temp=0.0, xtc_probability=0.5, xtc_threshold=0.1),
                                    dict(temp=0.0, dynatemp_range=0.5), dict(temp=0.0, samplers="top_k"),
                                    dict(temp=0.0, typ_p=0.5),  # typical-p may drop the top token
                                    dict(temp=0.0, samplers="top_k;penalties;temperature")])
def test_temperature_zero_shortcut_only_when_the_argmax_is_certain(params):
    assert not build_chain(SamplingParams(seed=1, **params), n_vocab=64).greedy
