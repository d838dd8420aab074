"""Shared fixtures. Real models are fetched once per machine (see llmrt.models) and shared by
every test in the session."""
