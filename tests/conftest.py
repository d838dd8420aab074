"""Shared fixtures. Real models are fetched once per machine (llmrt.models caches them) and
shared by every test in the session."""

import pytest

from llmrt import models


@pytest.fixture(scope="session")
def smollm2_path():
    return models.resolve("smollm2-135m", progress=False)


@pytest.fixture(scope="session")
def gemma3_path():
    return models.resolve("gemma3-270m", progress=False)


@pytest.fixture(scope="session")
def long_context(tmp_path_factory):
    """Tiny long-context models, their GGUF files and their runs (tests/long_context.py)."""
    from long_context import LongContext

    return LongContext(tmp_path_factory)
