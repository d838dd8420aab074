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
