"""The native context runs on a Backend (csrc/backend/backend.h): the CPU one, or the CUDA one,
whose factory says it has no forward pass; anything else is refused by name."""

import pytest

import llmrt
from llmrt import _core


@pytest.fixture(scope="module")
def model(smollm2_path):
    return llmrt.LLM(smollm2_path, n_ctx=32, n_threads=1)._model


def test_cpu_is_the_default(model):
    assert _core.Context(model, 16).backend == "cpu"
    assert _core.Context(model, 16, backend="cpu").n_cells == 16


def test_cuda_backend_raises_device_error(model):
    with pytest.raises(llmrt.DeviceError, match="no forward pass"):
        _core.Context(model, 16, backend="cuda")


def test_unknown_backend_is_named(model):
    with pytest.raises(llmrt.ContextError, match="unknown backend 'tpu'"):
        _core.Context(model, 16, backend="tpu")
